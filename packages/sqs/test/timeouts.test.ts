// Endpoints that accept the connection and then say nothing (the fault proxy's blackhole): the AWS
// SDK sets no timeout of its own, so without connectTimeoutMs and requestTimeoutMs every call
// below would hang until the test's own timeout.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createFaultProxy, type FaultProxy, idOf, probeMessage } from '@conveyor/conformance';
import { BrokerConnectionError, type Delivery, InvalidOptionError } from '@conveyor/core/transport';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqsTransport, type SqsTransportOptions } from '../src/index.js';
import { deleteQueues, ELASTICMQ, fastTransport } from './sqs-harness.js';

const suffix = Math.random().toString(36).slice(2, 8);
const queues = [`timeouts-publish-${suffix}`, `timeouts-consume-${suffix}`, `timeouts-tls-${suffix}`];
const [publishQueue = '', consumeQueue = '', tlsQueue = ''] = queues;

let proxy: FaultProxy | undefined;
let transport: SqsTransport | undefined;
afterEach(async () => {
  await transport?.close();
  await proxy?.close();
  transport = undefined;
  proxy = undefined;
});
afterAll(() => deleteQueues(queues));

/** How a call fails and after how long (reported, asserted only against gross bounds). */
async function failure(what: string, call: () => Promise<unknown>): Promise<BrokerConnectionError> {
  const started = performance.now();
  const error = await call().then(
    () => new Error(`${what} succeeded`),
    (e: unknown) => e,
  );
  const elapsed = Math.round(performance.now() - started);
  console.log(`sqs ${what}: failed after ${elapsed} ms: ${(error as Error).message}`);
  expect(error).toBeInstanceOf(BrokerConnectionError);
  expect(error).toMatchObject({ code: 'CONNECTION_FAILED', retryable: true });
  expect(elapsed).toBeLessThan(20_000);
  return error as BrokerConnectionError;
}

describe('SQS connect and request timeouts', () => {
  it('checks connectTimeoutMs and requestTimeoutMs when built, naming the option', () => {
    const option = (options: SqsTransportOptions): string => {
      try {
        new SqsTransport({ endpoint: 'http://127.0.0.1:9324', ...options });
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionError);
        return (error as InvalidOptionError).option;
      }
      return 'accepted';
    };
    expect(option({ connectTimeoutMs: 0 })).toBe('connectTimeoutMs');
    expect(option({ connectTimeoutMs: Number.NaN })).toBe('connectTimeoutMs');
    // A receive long-polls 20 s by default: a shorter request timeout would end every idle one.
    expect(option({ requestTimeoutMs: 20_000 })).toBe('requestTimeoutMs');
    expect(option({ waitTimeSeconds: 1, requestTimeoutMs: 2999 })).toBe('requestTimeoutMs');
    expect(option({ waitTimeSeconds: 1, requestTimeoutMs: 3000 })).toBe('accepted');
    const defaults = new SqsTransport({ endpoint: 'http://127.0.0.1:9324' }).options;
    expect(defaults).toMatchObject({ connectTimeoutMs: 5000, requestTimeoutMs: 30_000 });
    expect(fastTransport().options.requestTimeoutMs).toBe(11_000);
  });

  it('connect() fails within connectTimeoutMs when the endpoint accepts but never answers', async () => {
    proxy = await createFaultProxy({ upstream: ELASTICMQ });
    proxy.blackhole(true);
    transport = fastTransport({
      endpoint: `http://127.0.0.1:${proxy.endpoint.port}`,
      connectTimeoutMs: 1000,
    });
    const error = await failure('connect to a blackhole', () => transport!.connect());
    expect(error.message).toMatch(/timed out after 1000 ms \(connectTimeoutMs\)/);
    expect(proxy.stats().accepted).toBeGreaterThan(0);
    // Retryable indeed: once the endpoint answers, connect() succeeds.
    proxy.blackhole(false);
    proxy.cutAll();
    await transport.connect();
  }, 30_000);

  it('a publish on a connection gone silent fails after requestTimeoutMs', async () => {
    proxy = await createFaultProxy({ upstream: ELASTICMQ });
    transport = fastTransport({
      endpoint: `http://127.0.0.1:${proxy.endpoint.port}`,
      requestTimeoutMs: 3000,
    });
    await transport.declareQueue({ name: publishQueue });
    await transport.publish(publishQueue, probeMessage('before'));
    proxy.blackhole(true);
    const error = await failure('publish into a blackhole', () =>
      transport!.publish(publishQueue, probeMessage('lost')),
    );
    expect(error.message).toMatch(/3000 ms requestTimeout/);
  }, 30_000);

  it('a consumer whose receive went silent receives again once the blackhole lifts', async () => {
    proxy = await createFaultProxy({ upstream: ELASTICMQ });
    transport = fastTransport({
      endpoint: `http://127.0.0.1:${proxy.endpoint.port}`,
      requestTimeoutMs: 3000,
    });
    const direct = fastTransport();
    await transport.declareQueue({ name: consumeQueue });
    const errors: unknown[] = [];
    const received: string[] = [];
    const abort = new AbortController();
    await transport.consume(
      consumeQueue,
      async (delivery: Delivery) => {
        received.push(idOf(delivery) ?? '?');
        await delivery.ack();
      },
      { prefetch: 1, signal: abort.signal, onError: (e) => errors.push(e) },
    );
    try {
      // The long poll on its way (1 s) is swallowed, its answer with it.
      proxy.blackhole(true);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await direct.publish(consumeQueue, probeMessage('after the partition'));
      proxy.blackhole(false);
      const started = performance.now();
      await expect.poll(() => received, { timeout: 20_000, interval: 100 }).toEqual(['after the partition']);
      console.log(
        `sqs consumer: received ${Math.round(performance.now() - started)} ms after the blackhole lifted; errors: ${errors.map((e) => (e as Error).message).join(' | ')}`,
      );
      expect(errors.some((e) => e instanceof BrokerConnectionError)).toBe(true);
    } finally {
      abort.abort();
      await direct.close();
    }
  }, 40_000);

  describe('over https (ElasticMQ behind the TLS terminator on 9325)', () => {
    const ca = readFileSync(fileURLToPath(new URL('../../../.conveyor/brokers/tls/ca.crt', import.meta.url)));
    const overTls = (port: number, extra: SqsTransportOptions = {}) =>
      fastTransport({ endpoint: `https://127.0.0.1:${port}`, tls: { ca }, ...extra });

    it('connect() fails within connectTimeoutMs when the TLS handshake never ends', async () => {
      proxy = await createFaultProxy({ upstream: { host: '127.0.0.1', port: 9325 } });
      proxy.blackhole(true);
      transport = overTls(proxy.endpoint.port, { connectTimeoutMs: 1000 });
      await failure('connect to a TLS blackhole', () => transport!.connect());
    }, 30_000);

    it('a request that needs a new connection fails within connectTimeoutMs, not requestTimeoutMs', async () => {
      proxy = await createFaultProxy({ upstream: { host: '127.0.0.1', port: 9325 } });
      // Longer than the test: only the handshake bound can end the wait.
      transport = overTls(proxy.endpoint.port, { connectTimeoutMs: 1000, requestTimeoutMs: 60_000 });
      await transport.declareQueue({ name: tlsQueue });
      proxy.blackhole(true);
      proxy.cutAll();
      // Let the agent see its kept-alive socket close, so that the publish needs a new one.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const error = await failure('publish over a TLS handshake that never ends', () =>
        transport!.publish(tlsQueue, probeMessage('lost')),
      );
      expect(error.message).toMatch(/TLS handshake not finished within 1000 ms/);
    }, 30_000);
  });
});
