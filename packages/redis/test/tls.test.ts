// rediss:// against the real Redis TLS port brokers.sh opens (6380, test certificates from
// tooling/brokers/tls-certs.sh, client certificates optional but checked when shown).
import { BrokerConnectionError, transportFromUrl } from '@conveyor/core';
import { addOverTransport, failureOf, invalidOptionOf, testCertificates } from '@conveyor/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { queueKeys, RedisTransport, type RedisTransportOptions } from '../src/index.js';
import { rawClient } from './redis-harness.js';

const DB = 9;
const TLS_PORT = 6380;
const { path: file, pem } = testCertificates;
const queue = `tls-${Math.random().toString(36).slice(2, 8)}`;
const TLS_URL = `rediss://127.0.0.1:${TLS_PORT}/${DB}`;

afterAll(async () => {
  const redis = rawClient(DB);
  const k = queueKeys(queue, '', false);
  await redis.del(...k.ready, k.inflight, k.payload, k.delayed, k.counts, k.countsAge, k.sequence);
  redis.disconnect();
});

async function connectFailure(options: RedisTransportOptions): Promise<BrokerConnectionError> {
  const transport = new RedisTransport({ connectTimeoutMs: 5000, onWarning: () => {}, ...options });
  try {
    const error = await failureOf('redis tls: connect', () => transport.connect());
    expect(error).toBeInstanceOf(BrokerConnectionError);
    return error as BrokerConnectionError;
  } finally {
    await transport.close();
  }
}

describe('Redis over TLS (rediss://127.0.0.1:6380)', () => {
  it('runs a task over TLS, trusting the test CA named in the URL', async () => {
    // As the CLI opens it: from the URL alone.
    const transport = await transportFromUrl(`${TLS_URL}?tlsCa=${encodeURIComponent(file('ca.crt'))}`);
    expect(await addOverTransport(transport, queue, 15_000)).toBe(5);
  }, 30_000);

  it('verifies the server by default: Node default CAs do not trust the test CA', async () => {
    const error = await connectFailure({ url: TLS_URL });
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/certificate is not trusted .*tls\.ca/);
  }, 15_000);

  it('refuses the server when trusting another CA', async () => {
    const error = await connectFailure({ url: TLS_URL, tls: { ca: pem('other-ca.crt') } });
    expect(error.message).toMatch(/certificate is not trusted/);
  }, 15_000);

  it('shows a client certificate from the URL, which Redis accepts', async () => {
    const query = new URLSearchParams({
      tlsCa: file('ca.crt'),
      tlsCert: file('client.crt'),
      tlsKey: file('client.key'),
    });
    const transport = new RedisTransport({ url: `${TLS_URL}?${query}`, onWarning: () => {} });
    try {
      await transport.connect();
      expect(await transport.queueDepth(queue)).toMatchObject({ ready: 0 });
    } finally {
      await transport.close();
    }
  }, 15_000);

  it('is refused by Redis with a client certificate its CA did not sign', async () => {
    const error = await connectFailure({
      url: TLS_URL,
      tls: { ca: pem('ca.crt'), cert: pem('other-ca.crt'), key: pem('other-ca.key') },
    });
    // Under TLS 1.3 Redis turns the certificate down after the handshake: the client sees the
    // alert (unknown CA) or, when it was writing, the reset.
    expect(error.message).toMatch(/refused the client certificate|ECONNRESET/);
  }, 15_000);

  it('checks TLS options when built, naming the option', () => {
    const invalid = (options: RedisTransportOptions) => invalidOptionOf(() => new RedisTransport(options));
    expect(invalid({ url: TLS_URL, tls: { ca: 'not a certificate' } })).toBe('tls.ca');
    expect(invalid({ url: TLS_URL, tls: { ca: pem('ca.crt'), cert: pem('client.crt') } })).toBe('tls.key');
    expect(invalid({ url: `${TLS_URL}?tlsCa=${file('missing.crt')}` })).toBe('tlsCa');
    expect(invalid({ url: `redis://127.0.0.1:6379?tlsCa=${file('ca.crt')}` })).toBe('tlsCa');
  });
});
