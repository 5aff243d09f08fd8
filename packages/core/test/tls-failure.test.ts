// describeTlsFailure turns Node's TLS errors into a sentence that says what to change, against a
// real TLS server with certificates tls-certs.sh makes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Server } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTlsFailure } from '../src/transport-authors.js';

const certsScript = fileURLToPath(new URL('../../../tooling/brokers/tls-certs.sh', import.meta.url));
const names = { ca: 'tls.ca', clientCertificate: 'tls.cert and tls.key' };
let dir: string;
let server: Server;
const pem = (name: string) => readFileSync(join(dir, name));

function failureOf(options: { ca?: Buffer; cert?: Buffer; key?: Buffer }): Promise<Error> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...options });
    // With TLS 1.3 the server's refusal of a client certificate arrives after the handshake.
    socket.on('secureConnect', () => socket.write('hello'));
    socket.on('data', () => reject(new Error('the connection was accepted')));
    socket.on('error', resolve);
  });
}

describe('describeTlsFailure', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'conveyor-tls-'));
    execFileSync('bash', [certsScript, dir]);
    server = createServer({
      cert: pem('server.crt'),
      key: pem('server.key'),
      ca: pem('ca.crt'),
      requestCert: true,
      rejectUnauthorized: true,
    });
    server.on('secureConnection', (socket) => socket.on('data', () => socket.write('ok')));
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('says the broker is not trusted when the client trusts another CA, and names the option', async () => {
    const error = await failureOf({
      ca: pem('other-ca.crt'),
      cert: pem('client.crt'),
      key: pem('client.key'),
    });
    expect(describeTlsFailure(error, names)).toMatch(/certificate is not trusted .*tls\.ca or the tlsCa URL/);
  });

  it('says a client certificate is required when none was given', async () => {
    const error = await failureOf({ ca: pem('ca.crt') });
    expect(describeTlsFailure(error, names)).toMatch(/requires a client certificate.*tls\.cert and tls\.key/);
  });

  it('finds the TLS error among the causes, and leaves other errors alone', () => {
    const tlsError = Object.assign(new Error('self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    expect(describeTlsFailure(new Error('wrapped', { cause: tlsError }), names)).toMatch(/not trusted/);
    expect(
      describeTlsFailure(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), names),
    ).toBeUndefined();
    expect(describeTlsFailure('nope', names)).toBeUndefined();
  });
});
