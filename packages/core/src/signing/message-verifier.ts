import { constants, type KeyObject, verify } from 'node:crypto';
import { InvalidOptionError } from '../errors/transport-errors.js';
import type { WireMessage } from '../message/wire-message.js';
import { SIGNED_CONTENT_TYPE, unpackAuthEnvelope } from './auth-envelope.js';
import { boundHeaderBytes, HEADER_SIGNATURE_HEADER } from './bound-headers.js';
import { MessageSignatureError } from './signature-error.js';
import { celerySignerId } from './signer-id.js';
import {
  certificateExpiry,
  checkOptionKeys,
  checkRsaCertificate,
  parseCertificates,
  resolveDigest,
  type SignatureDigest,
  type WorkerSigningOptions,
} from './signing-options.js';

const KNOWN_OPTIONS = ['trusted', 'require', 'requireBoundHeaders', 'digest'];

interface TrustedSigner {
  readonly publicKey: KeyObject;
  readonly expiresAt: number;
  readonly validTo: string;
}

/**
 * Checks the signature of received messages against trusted certificates, as Celery's `auth`
 * serializer does on `loads`: the signer id picks the certificate, the certificate must not have
 * expired, and the RSA-PSS signature must match the serialized body byte for byte. Only then is
 * the body handed on to be decoded, so nothing parses bytes an untrusted party wrote.
 */
export class MessageVerifier {
  /** Whether an unsigned message is refused (dead-lettered) rather than run. */
  readonly require: boolean;
  /** Whether a signed message must also carry Conveyor's header signature. */
  readonly requireBoundHeaders: boolean;
  readonly digest: SignatureDigest;
  readonly #trusted = new Map<string, TrustedSigner>();

  /** Throws InvalidOptionError naming the option (`signing.trusted[1]`, `signing.require`, ...). */
  constructor(options: WorkerSigningOptions, path = 'signing') {
    checkOptionKeys(options, KNOWN_OPTIONS, path);
    if (options.require !== undefined && typeof options.require !== 'boolean') {
      throw new InvalidOptionError(
        `${path}.require`,
        `must be a boolean, got ${JSON.stringify(options.require)}`,
      );
    }
    this.require = options.require ?? true;
    if (options.requireBoundHeaders !== undefined && typeof options.requireBoundHeaders !== 'boolean') {
      throw new InvalidOptionError(
        `${path}.requireBoundHeaders`,
        `must be a boolean, got ${JSON.stringify(options.requireBoundHeaders)}`,
      );
    }
    this.requireBoundHeaders = options.requireBoundHeaders ?? false;
    this.digest = resolveDigest(options.digest, `${path}.digest`);
    if (!Array.isArray(options.trusted) || options.trusted.length === 0) {
      throw new InvalidOptionError(`${path}.trusted`, 'at least one trusted certificate is required');
    }
    options.trusted.forEach((entry, index) => {
      const where = `${path}.trusted[${index}]`;
      for (const certificate of parseCertificates(entry, where)) {
        checkRsaCertificate(certificate, where);
        const id = celerySignerId(certificate);
        const expiresAt = certificateExpiry(certificate);
        // Celery's certificate store refuses both at load time.
        if (expiresAt <= Date.now())
          throw new InvalidOptionError(where, `certificate "${id}" expired on ${certificate.validTo}`);
        if (this.#trusted.has(id)) throw new InvalidOptionError(where, `certificate "${id}" is listed twice`);
        this.#trusted.set(id, { publicKey: certificate.publicKey, expiresAt, validTo: certificate.validTo });
      }
    });
  }

  /** The key ids (Celery signer ids) whose signatures are accepted. */
  get trustedSigners(): string[] {
    return [...this.#trusted.keys()];
  }

  /**
   * The message as its producer serialized it (body and content type from inside the signed
   * envelope) once its signature checks out; an unsigned message as it is when signing is not
   * required. Throws MessageSignatureError saying which check failed.
   */
  open(message: WireMessage): WireMessage {
    const contentType = message.properties?.content_type;
    if (contentType !== SIGNED_CONTENT_TYPE) {
      if (!this.require) return message;
      throw new MessageSignatureError(
        'unsigned',
        `signing is required and the message is not signed (content type ${JSON.stringify(contentType ?? null)})`,
      );
    }
    const envelope = unpackAuthEnvelope(message.body);
    const signer = this.#trusted.get(envelope.signer);
    if (signer === undefined) {
      throw new MessageSignatureError(
        'unknown-signer',
        `signer ${JSON.stringify(envelope.signer)} is not among the trusted certificates`,
        envelope.signer,
      );
    }
    if (signer.expiresAt <= Date.now()) {
      throw new MessageSignatureError(
        'expired-certificate',
        `the certificate of signer ${JSON.stringify(envelope.signer)} expired on ${signer.validTo}`,
        envelope.signer,
      );
    }
    if (!this.#verify(signer, envelope.body, envelope.signature)) {
      throw new MessageSignatureError(
        'tampered',
        `the signature does not match the body for signer ${JSON.stringify(envelope.signer)}`,
        envelope.signer,
      );
    }
    this.#checkBoundHeaders(message, envelope.signer, signer, envelope.signature);
    return {
      headers: message.headers,
      properties: {
        ...message.properties,
        content_type: envelope.contentType,
        content_encoding: envelope.contentEncoding,
      },
      body: envelope.body,
    };
  }

  #checkBoundHeaders(
    message: WireMessage,
    signerId: string,
    signer: TrustedSigner,
    bodySignature: Buffer,
  ): void {
    const headerSignature = message.headers?.[HEADER_SIGNATURE_HEADER];
    if (headerSignature === undefined || headerSignature === null) {
      if (!this.requireBoundHeaders) return;
      throw new MessageSignatureError(
        'unbound-headers',
        `bound headers are required and the message has no ${HEADER_SIGNATURE_HEADER} header`,
        signerId,
      );
    }
    const valid =
      typeof headerSignature === 'string' &&
      this.#verify(
        signer,
        boundHeaderBytes(message.headers, bodySignature),
        Buffer.from(headerSignature, 'base64'),
      );
    if (!valid) {
      throw new MessageSignatureError(
        'tampered-headers',
        `the headers naming the task (task, id, root_id, parent_id, group, shadow) do not match their signature by ${JSON.stringify(signerId)}`,
        signerId,
      );
    }
  }

  /** RSA-PSS as Celery's Certificate.verify; any salt length, as a PSS signature may use. */
  #verify(signer: TrustedSigner, data: Buffer, signature: Buffer): boolean {
    return verify(
      this.digest,
      data,
      {
        key: signer.publicKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_AUTO,
      },
      signature,
    );
  }
}
