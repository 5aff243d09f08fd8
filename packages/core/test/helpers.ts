import { randomUUID } from 'node:crypto';
import { vi } from 'vitest';
import {
  type Delivery,
  type DeliveryHandler,
  MemoryTransport,
  type MemoryTransportOptions,
  type WireMessage,
} from '../src/index.js';

/** A broker name no other test uses, so every test has its own in-memory "server". */
export function uniqueBroker(label = 'test'): string {
  return `${label}-${randomUUID()}`;
}

/** A MemoryTransport on its own broker (or on `broker` when given), already connected. */
export async function connectedTransport(options: MemoryTransportOptions = {}): Promise<MemoryTransport> {
  const transport = new MemoryTransport({ broker: uniqueBroker(), ...options });
  await transport.connect();
  return transport;
}

/** Waits, polling, until `check` stops throwing; generous timeout for slow CI machines. */
export function eventually<T>(check: () => T | Promise<T>, timeout = 10_000): Promise<T> {
  return vi.waitFor(check, { timeout, interval: 5 });
}

/** Resolves after `ms`: only for "nothing happened during this time" assertions. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A minimal valid wire message whose body is the UTF-8 text `text`. */
export function wireMessage(text: string, headers: WireMessage['headers'] = {}): WireMessage {
  return {
    headers,
    properties: { content_type: 'text/plain', content_encoding: 'utf-8' },
    body: new TextEncoder().encode(text),
  };
}

/** The body of a delivery as text. */
export function bodyText(delivery: Delivery): string {
  return new TextDecoder().decode(delivery.message?.body ?? new Uint8Array());
}

/**
 * Starts a consumer that records every delivery without settling it, so a test can settle each
 * one itself.
 */
export async function collect(
  transport: MemoryTransport,
  queue: string,
  prefetch = 100,
  signal?: AbortSignal,
): Promise<Delivery[]> {
  const received: Delivery[] = [];
  const handler: DeliveryHandler = (delivery) => {
    received.push(delivery);
  };
  await transport.consume(queue, handler, signal ? { prefetch, signal } : { prefetch });
  return received;
}

/** A promise with its resolve function exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
