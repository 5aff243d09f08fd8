export { MEMORY_PRIORITY_LEVELS, MemoryBroker } from './memory-broker.js';
export { MemoryTransport, type MemoryTransportOptions } from './memory-transport.js';
