// sqs+https:// against the TLS terminator brokers.sh starts in front of ElasticMQ (9325, test
// certificates from tooling/brokers/tls-certs.sh): ElasticMQ has no TLS of its own.
import { BrokerConnectionError, transportFromUrl } from '@conveyor/core';
import { addOverTransport, failureOf, invalidOptionOf, testCertificates } from '@conveyor/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsTransport, type SqsTransportOptions } from '../src/index.js';
import { deleteQueues } from './sqs-harness.js';

const HTTPS_ENDPOINT = 'https://127.0.0.1:9325';
const { path: file, pem } = testCertificates;
const queue = `tls-${Math.random().toString(36).slice(2, 8)}`;

afterAll(() => deleteQueues([queue, `${queue}.dlq`]));

/** The first request fails (SQS has no connection to open before): with what, and how fast. */
async function firstRequestFailure(options: SqsTransportOptions): Promise<BrokerConnectionError> {
  const transport = new SqsTransport({ endpoint: HTTPS_ENDPOINT, ...options });
  try {
    const error = await failureOf('sqs tls: declareQueue', () => transport.declareQueue({ name: queue }));
    expect(error).toBeInstanceOf(BrokerConnectionError);
    return error as BrokerConnectionError;
  } finally {
    await transport.close();
  }
}

describe('SQS over https (ElasticMQ behind the TLS terminator on 9325)', () => {
  it('runs a task over https, trusting the test CA named in the URL (as the CLI opens it)', async () => {
    const transport = await transportFromUrl(
      `sqs+https://127.0.0.1:9325?waitTimeSeconds=1&tlsCa=${encodeURIComponent(file('ca.crt'))}`,
    );
    expect(await addOverTransport(transport, queue, 15_000)).toBe(5);
  }, 30_000);

  it('verifies the server by default: Node default CAs do not trust the test CA', async () => {
    const error = await firstRequestFailure({});
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/certificate is not trusted .*tls\.ca/);
  }, 15_000);

  it('refuses the server when trusting another CA', async () => {
    const error = await firstRequestFailure({ tls: { ca: pem('other-ca.crt') } });
    expect(error.message).toMatch(/certificate is not trusted/);
  }, 15_000);

  it('checks TLS options when built, naming the option', () => {
    const invalid = (options: SqsTransportOptions) => invalidOptionOf(() => new SqsTransport(options));
    expect(invalid({ endpoint: HTTPS_ENDPOINT, tls: { ca: 'not a certificate' } })).toBe('tls.ca');
    expect(invalid({ endpoint: HTTPS_ENDPOINT, tls: { cert: pem('client.crt') } })).toBe('tls.key');
    expect(invalid({ url: `sqs+https://127.0.0.1:9325?tlsCa=${file('missing.crt')}` })).toBe('tlsCa');
    expect(invalid({ url: `sqs://127.0.0.1:9324?tlsCa=${file('ca.crt')}` })).toBe('tlsCa');
    expect(invalid({ endpoint: 'http://127.0.0.1:9324', tls: { ca: pem('ca.crt') } })).toBe('tls');
  });
});
