/**
 * @conveyor/core: Celery-compatible task messages, the Transport contract with its capabilities
 * manifest, typed errors, the task runtime (Client, Worker, results) and MemoryTransport.
 */
export * from './errors/index.js';
export * from './memory/index.js';
export * from './message/index.js';
export * from './results/index.js';
export * from './runtime/index.js';
export * from './transport/index.js';
