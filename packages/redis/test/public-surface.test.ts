import { describe, expect, it } from 'vitest';
import { RedisTransport } from '../src/index.js';

// The class a user gets shows the contract and its documented options, nothing of its insides
// (deliveries reach the transport through core's DeliveryPort, not through public members).
// Beyond the contract: brokerFacts (what `conveyor inspect` prints) and releaseDelayed (what
// `conveyor scheduler` runs), both documented in the README.
describe('RedisTransport public surface', () => {
  it('has only the Transport methods and the two documented extras on its prototype', () => {
    const methods = Object.getOwnPropertyNames(RedisTransport.prototype).sort();
    expect(methods).toEqual(
      [
        'brokerFacts',
        'close',
        'connect',
        'constructor',
        'consume',
        'declareQueue',
        'health',
        'publish',
        'publishBatch',
        'queueDepth',
        'releaseDelayed',
      ].sort(),
    );
  });

  it('has only name, capabilities, options and broadcast as instance properties', () => {
    const transport = new RedisTransport({});
    expect(Object.keys(transport).sort()).toEqual(['broadcast', 'capabilities', 'name', 'options']);
  });
});
