import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type ConnectionOptions, createSecureContext } from 'node:tls';
import { InvalidOptionError } from '../errors/transport-errors.js';

/**
 * The query parameters that carry TLS files on every broker URL (`rediss://`, `amqps://`,
 * `kafka+ssl://`, `sqs+https://`), so that the CLI, which only has a URL, can trust a private CA
 * and show a client certificate: each names a PEM file, read once when the transport is built.
 */
export const TLS_URL_PARAMETERS = ['tlsCa', 'tlsCert', 'tlsKey'] as const;

/** One of TLS_URL_PARAMETERS. */
export type TlsUrlParameter = (typeof TLS_URL_PARAMETERS)[number];

const OPTION_OF: Record<TlsUrlParameter, 'ca' | 'cert' | 'key'> = {
  tlsCa: 'ca',
  tlsCert: 'cert',
  tlsKey: 'key',
};

/** Whether a URL query parameter is one of TLS_URL_PARAMETERS. */
export function isTlsUrlParameter(key: string): key is TlsUrlParameter {
  return (TLS_URL_PARAMETERS as readonly string[]).includes(key);
}

/**
 * Reads the PEM files a broker URL names (`?tlsCa=/path/ca.pem&tlsCert=…&tlsKey=…`) into Node TLS
 * options, checked like options given in code (checkTlsOptions). Undefined when the URL names none.
 * Errors name the parameter and the path, never what the file holds.
 */
export function tlsFromUrlParameters(parameters: URLSearchParams): ConnectionOptions | undefined {
  const tls: ConnectionOptions = {};
  let any = false;
  for (const parameter of TLS_URL_PARAMETERS) {
    const path = parameters.get(parameter);
    if (path === null) continue;
    if (path === '') throw new InvalidOptionError(parameter, 'must be the path of a PEM file');
    try {
      tls[OPTION_OF[parameter]] = readFileSync(path);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new InvalidOptionError(parameter, `cannot read the PEM file "${path}" (${reason})`);
    }
    any = true;
  }
  if (!any) return undefined;
  checkTlsOptions('', tls, { tlsCa: 'ca', tlsCert: 'cert', tlsKey: 'key' });
  return tls;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * Checks TLS options when a transport is built, so that a wrong file fails there, naming the
 * option, rather than at the first connect as a handshake error: `ca` must hold PEM certificates
 * (Node would ignore anything else and fall back to no trust at all), `cert` and `key` come
 * together and match, `rejectUnauthorized` is a boolean. `option` prefixes the names in errors
 * (`tls` gives `tls.ca`); `names` renames them (URL parameters).
 */
export function checkTlsOptions(
  option: string,
  tls: unknown,
  names: Record<string, 'ca' | 'cert' | 'key'> = {},
): asserts tls is ConnectionOptions {
  const nameOf = (field: 'ca' | 'cert' | 'key' | 'rejectUnauthorized'): string =>
    Object.entries(names).find(([, f]) => f === field)?.[0] ?? (option ? `${option}.${field}` : field);
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls))
    throw new InvalidOptionError(option || 'tls', 'must be an object of Node TLS options (ca, cert, key...)');
  const options = tls as ConnectionOptions;
  if (options.rejectUnauthorized !== undefined && typeof options.rejectUnauthorized !== 'boolean')
    throw new InvalidOptionError(nameOf('rejectUnauthorized'), 'must be true or false');
  if (options.ca !== undefined) {
    for (const entry of [options.ca].flat()) {
      if (typeof entry !== 'string' && !Buffer.isBuffer(entry))
        throw new InvalidOptionError(nameOf('ca'), 'must be PEM text or a Buffer (or an array of them)');
      const blocks = entry.toString('utf8').match(PEM_CERTIFICATE) ?? [];
      if (blocks.length === 0)
        throw new InvalidOptionError(nameOf('ca'), 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
      for (const block of blocks) {
        try {
          new X509Certificate(block);
        } catch {
          throw new InvalidOptionError(nameOf('ca'), 'holds a PEM certificate that does not parse');
        }
      }
    }
  }
  const hasCert = options.cert !== undefined;
  const hasKey = options.key !== undefined;
  if (options.pfx === undefined && hasCert !== hasKey)
    throw new InvalidOptionError(
      nameOf(hasCert ? 'key' : 'cert'),
      `is needed with ${nameOf(hasCert ? 'cert' : 'key')} (a client certificate needs its private key)`,
    );
  if (hasCert && hasKey) {
    // The certificate alone first, so that an error names the file that is wrong.
    const fail = (field: 'cert' | 'key', error: unknown): never => {
      const code = (error as { code?: string }).code ?? 'unreadable';
      if (code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH')
        throw new InvalidOptionError(
          nameOf('key'),
          `does not belong to the certificate in ${nameOf('cert')}`,
        );
      const what = field === 'cert' ? 'certificate' : 'private key';
      throw new InvalidOptionError(nameOf(field), `is not a usable PEM ${what} (${code})`);
    };
    try {
      createSecureContext({ cert: options.cert });
    } catch (error) {
      fail('cert', error);
    }
    try {
      createSecureContext({ cert: options.cert, key: options.key, passphrase: options.passphrase });
    } catch (error) {
      fail('key', error);
    }
  }
}
