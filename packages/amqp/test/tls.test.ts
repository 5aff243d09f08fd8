// amqps:// against the real RabbitMQ TLS listener brokers.sh opens (5671, test certificates from
// tooling/brokers/tls-certs.sh, client certificate required: verify_peer, fail_if_no_peer_cert).
import { BrokerAuthenticationError, BrokerConnectionError, transportFromUrl } from '@conveyor/core';
import { addOverTransport, failureOf, invalidOptionOf, testCertificates } from '@conveyor/test-support';
import amqplib from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { AmqpTransport, type AmqpTransportOptions } from '../src/index.js';
import { RABBIT_URL } from './amqp-harness.js';

const TLS_URL = 'amqps://guest:guest@127.0.0.1:5671';
const { path: file, pem } = testCertificates;
const clientCertificate = { cert: pem('client.crt'), key: pem('client.key') };
const queue = `tls-${Math.random().toString(36).slice(2, 8)}`;

afterAll(async () => {
  const connection = await amqplib.connect(RABBIT_URL);
  const channel = await connection.createChannel();
  for (const name of [queue, `${queue}.dlq`]) await channel.deleteQueue(name).catch(() => {});
  await connection.close();
});

async function connectFailure(options: AmqpTransportOptions): Promise<Error> {
  const transport = new AmqpTransport({ connectTimeoutMs: 5000, ...options });
  try {
    return await failureOf('amqp tls: connect', () => transport.connect());
  } finally {
    await transport.close();
  }
}

describe('RabbitMQ over TLS (amqps://127.0.0.1:5671)', () => {
  it('runs a task over TLS with the test CA and client certificate named in the URL', async () => {
    const query = new URLSearchParams({
      tlsCa: file('ca.crt'),
      tlsCert: file('client.crt'),
      tlsKey: file('client.key'),
    });
    // As the CLI opens it: from the URL alone.
    const transport = await transportFromUrl(`${TLS_URL}?${query}`);
    expect(await addOverTransport(transport, queue, 15_000)).toBe(5);
  }, 30_000);

  it('is refused without a client certificate: the listener requires one', async () => {
    const error = await connectFailure({ url: TLS_URL, tls: { ca: pem('ca.crt') } });
    expect(error).toBeInstanceOf(BrokerConnectionError);
    expect(error.message).toMatch(/requires a client certificate.*tls\.cert and tls\.key/);
  }, 15_000);

  it('verifies the server by default: Node default CAs do not trust the test CA', async () => {
    const error = await connectFailure({ url: TLS_URL, tls: clientCertificate });
    expect(error).toMatchObject({ code: 'CONNECTION_FAILED', retryable: false });
    expect(error.message).toMatch(/certificate is not trusted .*tls\.ca/);
  }, 15_000);

  it('refuses the server when trusting another CA', async () => {
    const error = await connectFailure({
      url: TLS_URL,
      tls: { ...clientCertificate, ca: pem('other-ca.crt') },
    });
    expect(error.message).toMatch(/certificate is not trusted/);
  }, 15_000);

  it('reports a refused login over TLS as BrokerAuthenticationError, without the password', async () => {
    const error = await connectFailure({
      url: 'amqps://guest:not-the-password@127.0.0.1:5671',
      tls: { ...clientCertificate, ca: pem('ca.crt') },
    });
    expect(error).toBeInstanceOf(BrokerAuthenticationError);
    expect(error.message).toMatch(/refused the login of user "guest"/);
    expect(error.message).not.toContain('not-the-password');
  }, 15_000);

  it('checks TLS options when built, naming the option', () => {
    const invalid = (options: AmqpTransportOptions) => invalidOptionOf(() => new AmqpTransport(options));
    expect(invalid({ url: TLS_URL, tls: { ca: 'not a certificate' } })).toBe('tls.ca');
    expect(invalid({ url: TLS_URL, tls: { key: pem('client.key') } })).toBe('tls.cert');
    expect(invalid({ url: `${TLS_URL}?tlsCa=${file('missing.crt')}` })).toBe('tlsCa');
    expect(invalid({ url: `${RABBIT_URL}?tlsCa=${file('ca.crt')}` })).toBe('tlsCa');
    expect(invalid({ url: RABBIT_URL, tls: { ca: pem('ca.crt') } })).toBe('tls');
  });
});
