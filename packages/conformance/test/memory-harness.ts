import { MemoryBroker, MemoryTransport, type MemoryTransportOptions } from '@conveyor/core';
import type { ConformanceHarness } from '../src/index.js';

/** A harness over one private in-memory broker; `wrap` lets the mutant tests break the transport. */
export function memoryHarness(
  name: string,
  options: Omit<MemoryTransportOptions, 'broker'> = {},
  wrap: (transport: MemoryTransport) => import('@conveyor/core').Transport = (t) => t,
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
