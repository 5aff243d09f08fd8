// The TLS listeners brokers.sh opens beside the plain ones, and the certificates tls-certs.sh makes:
// each listener presents the test CA's server certificate for 127.0.0.1, and a client that trusts
// another CA refuses it.
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { connect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { brokerUp, UP_TIMEOUT_MS } from './brokers.js';

const tlsDir = fileURLToPath(new URL('../../../.conveyor/brokers/tls/', import.meta.url));
const certsScript = fileURLToPath(new URL('../tls-certs.sh', import.meta.url));
const file = (name: string) => readFileSync(`${tlsDir}${name}`);

const LISTENERS = [
  ['redis', 6380],
  ['rabbitmq', 5671],
  ['kafka SASL_SSL', 9094],
  ['sqs https terminator', 9325],
] as const;

function handshake(port: number, ca: Buffer): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca,
      cert: file('client.crt'),
      key: file('client.key'),
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('no handshake within 5 s')));
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('TLS listeners', () => {
  beforeAll(async () => {
    await Promise.all([brokerUp('redis'), brokerUp('rabbitmq'), brokerUp('kafka'), brokerUp('sqs')]);
  }, UP_TIMEOUT_MS);

  it('tls-certs.sh leaves complete certificates alone', async () => {
    const before = statSync(`${tlsDir}server.crt`).mtimeMs;
    const { stdout } = await promisify(execFile)('bash', [certsScript, tlsDir]);
    expect(stdout).toBe('');
    expect(statSync(`${tlsDir}server.crt`).mtimeMs).toBe(before);
  });

  it.each(LISTENERS)('%s on %i presents the test CA server certificate for 127.0.0.1', async (_, port) => {
    const socket = await handshake(port, file('ca.crt'));
    try {
      expect(socket.authorized).toBe(true);
      const peer = socket.getPeerCertificate();
      expect(peer.subjectaltname).toContain('IP Address:127.0.0.1');
      expect(peer.issuer.CN).toBe('Conveyor test CA');
    } finally {
      socket.destroy();
    }
  });

  it.each(LISTENERS)('%s on %i is refused by a client trusting another CA', async (_, port) => {
    await expect(handshake(port, file('other-ca.crt'))).rejects.toMatchObject({
      // Which one depends on whether the server sends the CA with its certificate.
      code: expect.stringMatching(/^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/),
    });
  });
});
