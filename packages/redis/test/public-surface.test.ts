import { describe, expect, it } from 'vitest';
import { RedisTransport } from '../src/index.js';

// The class a user gets shows the contract and its documented options, nothing of its insides
// (deliveries reach the transport through core's DeliveryPort, not through public members).
describe('RedisTransport public surface', () => {
  it('has only the Transport methods on its prototype', () => {
    const methods = Object.getOwnPropertyNames(RedisTransport.prototype).sort();
    expect(methods).toEqual(
      [
        'close',
        'connect',
        'constructor',
        'consume',
        'declareQueue',
        'health',
        'publish',
        'publishBatch',
        'queueDepth',
      ].sort(),
    );
  });

  it('has only name, capabilities and options as instance properties', () => {
    const transport = new RedisTransport({});
    expect(Object.keys(transport).sort()).toEqual(['capabilities', 'name', 'options']);
  });
});
