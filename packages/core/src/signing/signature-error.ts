import type { ConveyorErrorOptions } from '../errors/conveyor-error.js';
import { MalformedMessageError } from '../errors/message-errors.js';

/**
 * Why a worker that verifies signatures refused a message:
 * - `unsigned`: signing is required and the message carries no signature;
 * - `tampered`: the signature does not match the body (the body, the signature or the signer
 *   field was changed on the way, or the message was signed with another key);
 * - `unknown-signer`: signed by a certificate the worker does not trust;
 * - `expired-certificate`: signed by a trusted certificate that has expired (Celery refuses these too);
 * - `malformed`: the signed envelope itself cannot be read;
 * - `tampered-headers`: the body is genuine but the headers that name the task (task, id, ...)
 *   do not match Conveyor's header signature;
 * - `unbound-headers`: `requireBoundHeaders` is set and the message has no header signature.
 */
export type SignatureRejection =
  | 'unsigned'
  | 'tampered'
  | 'unknown-signer'
  | 'expired-certificate'
  | 'malformed'
  | 'tampered-headers'
  | 'unbound-headers';

/**
 * A message whose signature a worker refused. It is a MalformedMessageError, so the worker
 * dead-letters it with `message` as the reason and never runs it; `rejection` says which check failed.
 */
export class MessageSignatureError extends MalformedMessageError {
  readonly rejection: SignatureRejection;
  /** The signer id the message claimed, when it could be read. */
  readonly signer: string | undefined;

  constructor(
    rejection: SignatureRejection,
    detail: string,
    signer?: string,
    options: ConveyorErrorOptions = {},
  ) {
    super(`signature rejected (${rejection}): ${detail}`, options);
    this.message = `message signature rejected (${rejection}): ${detail}`;
    this.rejection = rejection;
    this.signer = signer;
  }
}
