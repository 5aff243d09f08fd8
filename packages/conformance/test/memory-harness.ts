import { MemoryBroker, MemoryTransport, type MemoryTransportOptions } from '@conveyor/core';
import type { Transport } from '@conveyor/core/transport';
import type { ConformanceHarness } from '../src/index.js';

/** A harness over one private in-memory broker; `wrap` lets the mutant tests break the transport. */
export function memoryHarness(
  name: string,
  options: Omit<MemoryTransportOptions, 'broker'> = {},
  wrap: (transport: MemoryTransport) => Transport = (t) => t,
): ConformanceHarness {
  const broker = new MemoryBroker();
  const transports: MemoryTransport[] = [];
  const open = (visibilityTimeoutMs?: number): MemoryTransport => {
    const transport = new MemoryTransport({
      ...options,
      broker,
      ...(visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs } : {}),
    });
    transports.push(transport);
    return transport;
  };
  return {
    name,
    createTransport: (factory) => wrap(open(factory.visibilityTimeoutMs)),
    publishRaw: async (queue, bytes) => {
      const writer = open();
      await writer.connect();
      await writer.publishRaw(queue, bytes);
      await writer.close();
    },
  };
}

/**
 * MemoryTransport with its claims withdrawn (no priorities, delays, deduplication, ordering or
 * visibility timeout): the suite must skip what is not claimed and UNS-01 must catch its use.
 */
export function restrictedMemoryHarness(): ConformanceHarness {
  return memoryHarness('memory-restricted', {
    restrictCapabilities: {
      priorityLevels: 0,
      delay: { mode: 'none' },
      deduplication: false,
      ordering: 'none',
    },
    visibilityTimeoutMs: null,
  });
}
