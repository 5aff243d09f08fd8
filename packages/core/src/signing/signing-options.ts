import { type KeyObject, X509Certificate } from 'node:crypto';
import { InvalidOptionError } from '../errors/transport-errors.js';

/** A PEM text (string or bytes), as read from a `.pem` file. */
export type PemInput = string | Buffer;

/**
 * Hash of the RSA-PSS signature. Both sides must use the same one (Celery's `security_digest`,
 * which does not travel with the message). Default `sha256`, Celery's default.
 */
export type SignatureDigest = 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** Options of `Client({ signing })`: the producer's private key and the certificate that names it. */
export interface ClientSigningOptions {
  /** RSA private key, PEM (Celery's `security_key`), or a KeyObject. Celery supports RSA only. */
  key: PemInput | KeyObject;
  /** Passphrase of an encrypted PEM key (Celery's `security_key_password`). */
  passphrase?: string;
  /**
   * The X.509 certificate of `key` (Celery's `security_certificate`). Its issuer and serial number
   * are the key id workers look up (see celerySignerId); it must be in their trusted list.
   */
  certificate: PemInput | X509Certificate;
  digest?: SignatureDigest;
  /**
   * Also sign the headers that name the task (`task`, `id`, `root_id`, `parent_id`, `group`,
   * `shadow`) together with the body's signature, in the `x-conveyor-header-signature` header.
   * Celery signs the body only, so without this someone who can write to the broker can replay a
   * signed body under another task name. Python Celery ignores the header. Costs a second
   * signature per message. Default false.
   */
  bindHeaders?: boolean;
}

/** Options of `Worker({ signing })`: whose signatures to accept, and whether to accept none. */
export interface WorkerSigningOptions {
  /**
   * Certificates of trusted producers (Celery's `security_cert_store`); a PEM text may hold
   * several. Rotation: trust the new certificate beside the old one, move producers to the new
   * key, then drop the old one.
   */
  trusted: readonly (PemInput | X509Certificate)[];
  /**
   * Dead-letter unsigned messages instead of running them. Default true: a worker given trusted
   * certificates runs only signed tasks, as a Celery worker with `accept_content=['auth']` does.
   * `false` runs unsigned tasks too (during a migration) but still refuses a bad signature.
   */
  require?: boolean;
  /**
   * Refuse a signed message whose headers are not bound to its body (no `x-conveyor-header-signature`,
   * see `ClientSigningOptions.bindHeaders`). Python Celery producers never bind headers, so set this
   * only when every producer is a Conveyor Client with `bindHeaders`. A header signature that is
   * present is checked either way. Default false.
   */
  requireBoundHeaders?: boolean;
  digest?: SignatureDigest;
}

const DIGESTS: readonly SignatureDigest[] = ['sha224', 'sha256', 'sha384', 'sha512'];

/** Throws InvalidOptionError for a key of `options` not in `known`, or when it is not an object. */
export function checkOptionKeys(options: unknown, known: readonly string[], path: string): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError(path, 'must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new InvalidOptionError(`${path}.${key}`, `unknown option (known: ${known.join(', ')})`);
    }
  }
}

/** The digest option, checked; `sha256` when absent. */
export function resolveDigest(value: unknown, path: string): SignatureDigest {
  if (value === undefined) return 'sha256';
  if (!DIGESTS.includes(value as SignatureDigest)) {
    throw new InvalidOptionError(path, `must be one of ${DIGESTS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as SignatureDigest;
}

/** Every certificate of a PEM text (or the one X509Certificate given); throws naming the option. */
export function parseCertificates(value: unknown, path: string): X509Certificate[] {
  if (value instanceof X509Certificate) return [value];
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
    throw new InvalidOptionError(path, 'must be a PEM certificate (string or Buffer) or an X509Certificate');
  }
  const text = typeof value === 'string' ? value : value.toString('utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw new InvalidOptionError(path, 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new InvalidOptionError(path, `is not a valid certificate: ${describe(error)}`, { cause: error });
    }
  });
}

/** Celery signs with RSA only (its Certificate and PrivateKey refuse other key types). */
export function checkRsaCertificate(certificate: X509Certificate, path: string): void {
  if (certificate.publicKey.asymmetricKeyType !== 'rsa') {
    throw new InvalidOptionError(
      path,
      `has a ${certificate.publicKey.asymmetricKeyType ?? 'unknown'} key; Celery's message signing supports RSA only`,
    );
  }
}

/** When the certificate stops being valid (Celery refuses signatures by an expired certificate). */
export function certificateExpiry(certificate: X509Certificate): number {
  return new Date(certificate.validTo).getTime();
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
