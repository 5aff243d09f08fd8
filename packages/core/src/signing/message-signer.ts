import { constants, createPrivateKey, KeyObject, sign } from 'node:crypto';
import { InvalidOptionError } from '../errors/transport-errors.js';
import type { WireMessage } from '../message/wire-message.js';
import { packAuthEnvelope, SIGNED_CONTENT_ENCODING, SIGNED_CONTENT_TYPE } from './auth-envelope.js';
import { boundHeaderBytes, HEADER_SIGNATURE_HEADER } from './bound-headers.js';
import { celerySignerId } from './signer-id.js';
import {
  type ClientSigningOptions,
  certificateExpiry,
  checkOptionKeys,
  checkRsaCertificate,
  describe,
  parseCertificates,
  resolveDigest,
  type SignatureDigest,
} from './signing-options.js';

const KNOWN_OPTIONS = ['key', 'passphrase', 'certificate', 'digest', 'bindHeaders'];

/**
 * Signs task bodies the way Celery's `auth` serializer does: RSA-PSS (MGF1 with the same hash,
 * the longest salt) over the serialized body, packed with the signer id and the body's own
 * content type into `application/data`. A Celery worker with `task_serializer='auth'` that trusts
 * the certificate accepts these messages, and so does a Conveyor worker.
 */
export class MessageSigner {
  /** The key id written into every message: Celery's id of the certificate (issuer and serial). */
  readonly signerId: string;
  readonly digest: SignatureDigest;
  /** Whether the headers naming the task are signed too (see ClientSigningOptions.bindHeaders). */
  readonly bindHeaders: boolean;
  readonly #key: KeyObject;

  /** Throws InvalidOptionError naming the option (`signing.key`, `signing.certificate`, ...). */
  constructor(options: ClientSigningOptions, path = 'signing') {
    checkOptionKeys(options, KNOWN_OPTIONS, path);
    if (options.key === undefined)
      throw new InvalidOptionError(`${path}.key`, 'an RSA private key is required');
    if (options.certificate === undefined) {
      throw new InvalidOptionError(`${path}.certificate`, 'the certificate of signing.key is required');
    }
    if (options.passphrase !== undefined && typeof options.passphrase !== 'string') {
      throw new InvalidOptionError(`${path}.passphrase`, 'must be a string');
    }
    this.digest = resolveDigest(options.digest, `${path}.digest`);
    if (options.bindHeaders !== undefined && typeof options.bindHeaders !== 'boolean') {
      throw new InvalidOptionError(`${path}.bindHeaders`, 'must be a boolean');
    }
    this.bindHeaders = options.bindHeaders ?? false;
    this.#key = loadPrivateKey(options.key, options.passphrase, `${path}.key`);
    const certificates = parseCertificates(options.certificate, `${path}.certificate`);
    if (certificates.length !== 1) {
      throw new InvalidOptionError(
        `${path}.certificate`,
        `must hold one certificate, found ${certificates.length}`,
      );
    }
    const certificate = certificates[0]!;
    checkRsaCertificate(certificate, `${path}.certificate`);
    if (!certificate.checkPrivateKey(this.#key)) {
      throw new InvalidOptionError(`${path}.key`, `does not belong to ${path}.certificate`);
    }
    if (certificateExpiry(certificate) <= Date.now()) {
      throw new InvalidOptionError(`${path}.certificate`, `expired on ${certificate.validTo}`);
    }
    this.signerId = celerySignerId(certificate);
  }

  /** The same message with its body signed and wrapped; headers are left as they are (unsigned). */
  sign(message: WireMessage): WireMessage {
    const body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
    const signature = this.#sign(body);
    const headers = this.bindHeaders
      ? {
          ...message.headers,
          [HEADER_SIGNATURE_HEADER]: this.#sign(boundHeaderBytes(message.headers, signature)).toString(
            'base64',
          ),
        }
      : message.headers;
    return {
      headers,
      properties: {
        ...message.properties,
        content_type: SIGNED_CONTENT_TYPE,
        content_encoding: SIGNED_CONTENT_ENCODING,
      },
      body: packAuthEnvelope({
        signer: this.signerId,
        signature,
        contentType: message.properties.content_type,
        contentEncoding: message.properties.content_encoding,
        body,
      }),
    };
  }

  /** RSA-PSS as Celery's PrivateKey.sign: MGF1 with the same hash, the longest salt. */
  #sign(data: Buffer): Buffer {
    return sign(this.digest, data, {
      key: this.#key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
    });
  }
}

function loadPrivateKey(key: unknown, passphrase: string | undefined, path: string): KeyObject {
  let loaded: KeyObject;
  if (key instanceof KeyObject) {
    loaded = key;
    if (loaded.type !== 'private')
      throw new InvalidOptionError(path, `is a ${loaded.type} key, not a private key`);
  } else if (typeof key === 'string' || Buffer.isBuffer(key)) {
    try {
      loaded = createPrivateKey(passphrase === undefined ? { key } : { key, passphrase });
    } catch (error) {
      // The reason only: never the key text, nor the passphrase.
      throw new InvalidOptionError(path, `is not a readable PEM private key: ${describe(error)}`);
    }
  } else {
    throw new InvalidOptionError(path, 'must be a PEM private key (string or Buffer) or a KeyObject');
  }
  if (loaded.asymmetricKeyType !== 'rsa') {
    throw new InvalidOptionError(
      path,
      `is a ${loaded.asymmetricKeyType ?? 'unknown'} key; Celery's message signing supports RSA only`,
    );
  }
  return loaded;
}
