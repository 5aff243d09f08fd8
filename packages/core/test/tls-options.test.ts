// The TLS checks every broker package runs at construction: wrong files fail there, naming the
// option or URL parameter, never showing what a file holds.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerAuthenticationError, InvalidOptionError } from '../src/index.js';
import { checkTlsOptions, isTlsUrlParameter, tlsFromUrlParameters } from '../src/transport-authors.js';

const certsScript = fileURLToPath(new URL('../../../tooling/brokers/tls-certs.sh', import.meta.url));
let dir: string;
const path = (name: string) => join(dir, name);
const pem = (name: string) => readFileSync(path(name));

function invalid(run: () => unknown): InvalidOptionError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  throw new Error('expected an InvalidOptionError');
}

describe('TLS options', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'conveyor-tls-'));
    execFileSync('bash', [certsScript, dir]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a CA, and a client certificate with its key', () => {
    expect(() =>
      checkTlsOptions('tls', { ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') }),
    ).not.toThrow();
    expect(() =>
      checkTlsOptions('tls', { ca: [pem('ca.crt'), pem('other-ca.crt').toString()] }),
    ).not.toThrow();
  });

  it('refuses a CA that holds no certificate (Node would silently trust nothing)', () => {
    const error = invalid(() => checkTlsOptions('tls', { ca: pem('client.key') }));
    expect(error.option).toBe('tls.ca');
    expect(error.message).not.toContain('PRIVATE KEY');
    expect(invalid(() => checkTlsOptions('ssl', { ca: 42 })).option).toBe('ssl.ca');
  });

  it('needs cert and key together, and matching', () => {
    expect(invalid(() => checkTlsOptions('tls', { cert: pem('client.crt') })).option).toBe('tls.key');
    expect(invalid(() => checkTlsOptions('tls', { key: pem('client.key') })).option).toBe('tls.cert');
    const mismatch = invalid(() =>
      checkTlsOptions('tls', { cert: pem('client.crt'), key: pem('server.key') }),
    );
    expect(mismatch.option).toBe('tls.key');
    expect(mismatch.message).toMatch(/does not belong/);
    expect(invalid(() => checkTlsOptions('tls', { cert: 'nope', key: pem('client.key') })).option).toBe(
      'tls.cert',
    );
    expect(invalid(() => checkTlsOptions('tls', { cert: pem('client.crt'), key: 'nope' })).option).toBe(
      'tls.key',
    );
  });

  it('refuses what is not an options object, and a rejectUnauthorized that is not a boolean', () => {
    expect(invalid(() => checkTlsOptions('tls', 'yes')).option).toBe('tls');
    expect(invalid(() => checkTlsOptions('tls', { rejectUnauthorized: 'false' })).option).toBe(
      'tls.rejectUnauthorized',
    );
  });

  it('reads the files URL parameters name, and names the parameter when one is wrong', () => {
    const tls = tlsFromUrlParameters(
      new URLSearchParams({ tlsCa: path('ca.crt'), tlsCert: path('client.crt'), tlsKey: path('client.key') }),
    );
    expect(tls?.ca).toEqual(pem('ca.crt'));
    expect(tls?.cert).toEqual(pem('client.crt'));
    expect(tlsFromUrlParameters(new URLSearchParams('keyPrefix=x'))).toBeUndefined();
    const missing = invalid(() => tlsFromUrlParameters(new URLSearchParams({ tlsCa: path('nope.crt') })));
    expect(missing.option).toBe('tlsCa');
    expect(missing.message).toContain('ENOENT');
    expect(
      invalid(() => tlsFromUrlParameters(new URLSearchParams({ tlsCa: path('client.key') }))).option,
    ).toBe('tlsCa');
    expect(
      invalid(() => tlsFromUrlParameters(new URLSearchParams({ tlsCert: path('client.crt') }))).option,
    ).toBe('tlsKey');
    expect(isTlsUrlParameter('tlsCa')).toBe(true);
    expect(isTlsUrlParameter('ca')).toBe(false);
  });

  it('BrokerAuthenticationError is typed and not retryable', () => {
    const error = new BrokerAuthenticationError('SASL authentication failed for user "conveyor"');
    expect(error.code).toBe('AUTHENTICATION_FAILED');
    expect(error.retryable).toBe(false);
  });
});
