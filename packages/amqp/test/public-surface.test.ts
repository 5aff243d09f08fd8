import { describe, expect, it } from 'vitest';
import { AmqpTransport } from '../src/index.js';

// The class a user gets shows the contract and its documented options, nothing of its insides
// (deliveries reach the transport through core's DeliveryPort, not through public members).
describe('AmqpTransport public surface', () => {
  it('has only the Transport methods on its prototype', () => {
    const methods = Object.getOwnPropertyNames(AmqpTransport.prototype).sort();
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

  it('has only name, capabilities, options and broadcast as instance properties', () => {
    const transport = new AmqpTransport({});
    expect(Object.keys(transport).sort()).toEqual(['broadcast', 'capabilities', 'name', 'options']);
  });
});
