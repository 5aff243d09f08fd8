import { createFaultProxy } from '@conveyor/conformance';
import { BrokerConnectionError, InvalidOptionError } from '@conveyor/core';
import { describe, expect, it } from 'vitest';
import { KafkaTransport, type KafkaTransportOptions } from '../src/index.js';

describe('KafkaTransport connectTimeoutMs', () => {
  it('is checked when the transport is built, naming the option', () => {
    const option = (options: KafkaTransportOptions): string => {
      try {
        new KafkaTransport(options);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionError);
        return (error as InvalidOptionError).option;
      }
      return 'accepted';
    };
    expect(option({ connectTimeoutMs: 0 })).toBe('connectTimeoutMs');
    expect(option({ connectTimeoutMs: Number.POSITIVE_INFINITY })).toBe('connectTimeoutMs');
    expect(option({ connectTimeoutMs: 2000 })).toBe('accepted');
    expect(new KafkaTransport({}).options.connectTimeoutMs).toBe(10_000);
  });

  it('connect() to a broker that accepts but never answers fails within the bound', async () => {
    // Without the bound: about 30 s (kafkajs's requestTimeout), then an untyped "Broker not connected".
    const proxy = await createFaultProxy({ upstream: { host: '127.0.0.1', port: 9092 } });
    proxy.blackhole(true);
    const transport = new KafkaTransport({
      brokers: [`127.0.0.1:${proxy.endpoint.port}`],
      connectTimeoutMs: 2000,
    });
    try {
      const started = performance.now();
      const error = await transport.connect().catch((e: unknown) => e);
      const elapsed = Math.round(performance.now() - started);
      console.log(`kafka connect to a blackhole: failed after ${elapsed} ms: ${(error as Error).message}`);
      expect(error).toBeInstanceOf(BrokerConnectionError);
      expect(error).toMatchObject({ code: 'CONNECTION_FAILED', retryable: true });
      expect((error as Error).message).toMatch(/timed out after 2000 ms \(connectTimeoutMs\)/);
      expect(proxy.stats().accepted).toBeGreaterThan(0);
      expect(elapsed).toBeLessThan(20_000); // gross: the old wait was about 30 s
    } finally {
      await transport.close();
      await proxy.close();
    }
  }, 40_000);

  it('connect() to a port that refuses fails within the bound, naming the bound and the refusal', async () => {
    // kafkajs alone retries a refused broker for about 5 s here, then says "Connection error".
    const transport = new KafkaTransport({ brokers: ['127.0.0.1:1'], connectTimeoutMs: 2000 });
    const started = performance.now();
    const error = await transport.connect().catch((e: unknown) => e);
    const elapsed = Math.round(performance.now() - started);
    console.log(`kafka connect to a refused port: failed after ${elapsed} ms: ${(error as Error).message}`);
    await transport.close();
    expect(error).toBeInstanceOf(BrokerConnectionError);
    expect(error).toMatchObject({ code: 'CONNECTION_FAILED', retryable: true });
    expect((error as Error).message).toMatch(/timed out after 2000 ms \(connectTimeoutMs\)/);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect(elapsed).toBeLessThan(20_000); // gross
  }, 30_000);
});
