// kafka+ssl:// with SASL/SCRAM against the real SASL_SSL listener brokers.sh opens (9094, test
// certificates from tooling/brokers/tls-certs.sh, SCRAM-SHA-512 user conveyor / conveyor-secret).
import { BrokerAuthenticationError, BrokerConnectionError, transportFromUrl } from '@conveyor/core';
import { addOverTransport, failureOf, invalidOptionOf, testCertificates } from '@conveyor/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaTransport, type KafkaTransportOptions } from '../src/index.js';
import { deleteQueues, FAST } from './kafka-harness.js';

const SASL_SSL = '127.0.0.1:9094';
const PASSWORD = 'conveyor-secret';
const { path: file, pem } = testCertificates;
const TLS_URL = `kafka+ssl://conveyor:${PASSWORD}@${SASL_SSL}?tlsCa=${encodeURIComponent(file('ca.crt'))}&partitions=1`;
const queue = `tls-${Math.random().toString(36).slice(2, 8)}`;
const scram = (password: string) => ({ mechanism: 'scram-sha-512' as const, username: 'conveyor', password });

afterAll(() => deleteQueues([queue]));

async function connectFailure(options: KafkaTransportOptions): Promise<Error> {
  const transport = new KafkaTransport({ brokers: [SASL_SSL], ...options });
  try {
    return await failureOf('kafka tls: connect', () => transport.connect());
  } finally {
    await transport.close();
  }
}

describe('Kafka over SASL_SSL (127.0.0.1:9094)', () => {
  it('runs a task over TLS with SCRAM-SHA-512, trusting the test CA named in the URL', async () => {
    const transport = new KafkaTransport({
      url: TLS_URL,
      sessionTimeoutMs: FAST.sessionTimeoutMs,
      delayTopicPrefix: FAST.delayTopicPrefix,
    });
    expect(await addOverTransport(transport, queue, 30_000)).toBe(5);
  }, 60_000);

  it('opens from the URL alone, as the CLI does', async () => {
    const transport = await transportFromUrl(TLS_URL);
    try {
      await transport.connect();
    } finally {
      await transport.close();
    }
  }, 30_000);

  it('reports a wrong password as BrokerAuthenticationError that never shows the password', async () => {
    const wrong = 'not-the-Secret-4711';
    const error = await connectFailure({ ssl: { ca: pem('ca.crt') }, sasl: scram(wrong) });
    expect(error).toBeInstanceOf(BrokerAuthenticationError);
    expect(error).toMatchObject({ code: 'AUTHENTICATION_FAILED', retryable: false });
    expect(error.message).toMatch(/refused the SASL credentials of user "conveyor"/);
    for (const text of [error.message, String(error.stack), String((error.cause as Error)?.message)]) {
      expect(text).not.toContain(wrong);
    }
  }, 30_000);

  it('verifies the broker by default: Node default CAs do not trust the test CA, and it fails at once', async () => {
    const error = await connectFailure({ ssl: true, sasl: scram(PASSWORD) });
    expect(error).toBeInstanceOf(BrokerConnectionError);
    expect(error).toMatchObject({ retryable: false });
    expect(error.message).toMatch(/certificate is not trusted .*ssl\.ca/);
  }, 30_000);

  it('refuses the broker when trusting another CA', async () => {
    const error = await connectFailure({ ssl: { ca: pem('other-ca.crt') }, sasl: scram(PASSWORD) });
    expect(error).toBeInstanceOf(BrokerConnectionError);
    expect(error.message).toMatch(/certificate is not trusted/);
  }, 30_000);

  it('checks TLS options when built, naming the option', () => {
    const invalid = (options: KafkaTransportOptions) => invalidOptionOf(() => new KafkaTransport(options));
    expect(invalid({ brokers: [SASL_SSL], ssl: { ca: 'not a certificate' } })).toBe('ssl.ca');
    expect(invalid({ brokers: [SASL_SSL], ssl: { cert: pem('client.crt') } })).toBe('ssl.key');
    expect(invalid({ url: `kafka+ssl://${SASL_SSL}?tlsCa=${file('missing.crt')}` })).toBe('tlsCa');
    expect(invalid({ url: `kafka://127.0.0.1:9092?tlsCa=${file('ca.crt')}` })).toBe('tlsCa');
  });
});
