export { MemoryTransport, type MemoryTransportOptions } from './memory-transport.js';
export { MemoryBroker, MEMORY_PRIORITY_LEVELS } from './memory-broker.js';
