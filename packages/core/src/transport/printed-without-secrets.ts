import { inspect } from 'node:util';
import { redactUrl } from '../errors/transport-errors.js';

/**
 * Keys whose values are secrets wherever they appear in a transport's options: passwords, cloud
 * secret keys and TLS private key material.
 */
export const SECRET_OPTION_KEYS: readonly string[] = Object.freeze([
  'password',
  'sentinelPassword',
  'secretAccessKey',
  'sessionToken',
  'key',
  'passphrase',
  'pfx',
]);

/** How deep the printed copy goes; options are shallow, this only bounds odd inputs. */
const MAX_DEPTH = 6;

/**
 * Makes a transport's resolved options print without their secrets, since a transport exposes
 * them (`transport.options`) and `console.log(transport)`, `util.inspect` or a structured logger's
 * `JSON.stringify` would otherwise print the password. Printed, the object is a copy in which the
 * value of every key in `secretKeys`, at any depth, is `'***'`, and every string holding a URL has
 * its password hidden (`redactUrl`). The object itself is unchanged (the transport reads the real
 * values) and so are copies made by spreading it. Returns `options`.
 */
export function printedWithoutSecrets<T extends object>(
  options: T,
  secretKeys: readonly string[] = SECRET_OPTION_KEYS,
): T {
  const printable = (): unknown => withoutSecrets(options, new Set(secretKeys), 0, new Set());
  Object.defineProperty(options, inspect.custom, {
    value: (_depth: number, inspectOptions: object) => inspect(printable(), inspectOptions),
    enumerable: false,
    configurable: true,
  });
  Object.defineProperty(options, 'toJSON', { value: printable, enumerable: false, configurable: true });
  return options;
}

function withoutSecrets(value: unknown, secrets: Set<string>, depth: number, seen: Set<unknown>): unknown {
  if (typeof value === 'string') return redactUrl(value);
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH || seen.has(value)) return value;
  if (ArrayBuffer.isView(value)) return `<${value.byteLength} bytes>`;
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => withoutSecrets(item, secrets, depth + 1, seen));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] =
      secrets.has(key) && item !== undefined ? '***' : withoutSecrets(item, secrets, depth + 1, seen);
  }
  return copy;
}
