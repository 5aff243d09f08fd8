// kafka+ssl:// with SASL/SCRAM against the real SASL_SSL listener brokers.sh opens (9094, test
// certificates from tooling/brokers/tls-certs.sh, SCRAM-SHA-512 user conveyor / conveyor-secret).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  BrokerAuthenticationError,
  BrokerConnectionError,
  Client,
  defineTask,
  InvalidOptionError,
  MemoryResultBackend,
  transportFromUrl,
  Worker,
} from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaTransport, type KafkaTransportOptions } from '../src/index.js';
import { deleteQueues, FAST } from './kafka-harness.js';

const SASL_SSL = '127.0.0.1:9094';
const PASSWORD = 'conveyor-secret';
const tlsDir = fileURLToPath(new URL('../../../.conveyor/brokers/tls/', import.meta.url));
const file = (name: string) => `${tlsDir}${name}`;
const pem = (name: string) => readFileSync(file(name));
const TLS_URL = `kafka+ssl://conveyor:${PASSWORD}@${SASL_SSL}?tlsCa=${encodeURIComponent(file('ca.crt'))}&partitions=1`;
const queue = `tls-${Math.random().toString(36).slice(2, 8)}`;
const scram = (password: string) => ({ mechanism: 'scram-sha-512' as const, username: 'conveyor', password });

afterAll(() => deleteQueues([queue]));

/** connect() rejects: with what, and how long it took (reported, not asserted: shared machine). */
async function connectFailure(options: KafkaTransportOptions): Promise<Error> {
  const transport = new KafkaTransport({ brokers: [SASL_SSL], ...options });
  const started = Date.now();
  try {
    await transport.connect();
  } catch (error) {
    console.log(`kafka tls: connect failed after ${Date.now() - started} ms: ${(error as Error).message}`);
    return error as Error;
  } finally {
    await transport.close();
  }
  throw new Error('connect() succeeded');
}

describe('Kafka over SASL_SSL (127.0.0.1:9094)', () => {
  it('runs a task over TLS with SCRAM-SHA-512, trusting the test CA named in the URL', async () => {
    const transport = new KafkaTransport({
      url: TLS_URL,
      sessionTimeoutMs: FAST.sessionTimeoutMs,
      delayTopicPrefix: FAST.delayTopicPrefix,
    });
    const results = new MemoryResultBackend();
    const add = defineTask({ name: 'tls.add', handler: ([a, b]: [number, number]) => a + b });
    const worker = new Worker({ transport, tasks: [add], queues: [queue], results, concurrency: 2 });
    await worker.start();
    try {
      const handle = await new Client({ transport, results, defaultQueue: queue }).send(add, [2, 3]);
      expect(await handle.get({ timeout: 30_000 })).toBe(5);
    } finally {
      await worker.stop();
      await transport.close();
    }
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
    const invalid = (options: KafkaTransportOptions): string => {
      try {
        new KafkaTransport(options);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionError);
        return (error as InvalidOptionError).option;
      }
      throw new Error('no error');
    };
    expect(invalid({ brokers: [SASL_SSL], ssl: { ca: 'not a certificate' } })).toBe('ssl.ca');
    expect(invalid({ brokers: [SASL_SSL], ssl: { cert: pem('client.crt') } })).toBe('ssl.key');
    expect(invalid({ url: `kafka+ssl://${SASL_SSL}?tlsCa=${file('missing.crt')}` })).toBe('tlsCa');
    expect(invalid({ url: `kafka://127.0.0.1:9092?tlsCa=${file('ca.crt')}` })).toBe('tlsCa');
  });
});
