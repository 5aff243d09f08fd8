import { describe, expect, it } from 'vitest';
import {
  CARRIED_DELIVERY_COUNT_HEADER,
  ConveyorError,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  type DeliveryPort,
  defineCapabilities,
  HeldDeliveries,
  PrefetchWindow,
  RAW_CONTENT_TYPE,
  type Settlement,
  TransportDelivery,
  type WireMessage,
} from '../src/transport-authors.js';

const capabilities = defineCapabilities({
  delay: { mode: 'native', maxDelayMs: 60_000, precisionMs: 1 },
  priorityLevels: 0,
  ordering: 'queue',
  deadLetter: true,
  maxMessageBytes: 1024,
  batchPublish: true,
  visibilityExtension: true,
  deduplication: false,
  redelivery: { trigger: 'visibility-timeout', visibilityTimeoutMs: 1000 },
});

const message: WireMessage = {
  headers: { id: 'm1', task: 't' },
  properties: { content_type: 'application/json', content_encoding: 'utf-8' },
  body: new TextEncoder().encode('[[],{},{}]'),
};

/**
 * A port that records what reaches the "broker" and answers as told: the state machine under test
 * decides which calls get here at all.
 */
function recordingPort(overrides: Partial<DeliveryPort<string>> = {}) {
  const calls: string[] = [];
  const letters: { queue: string; letter: WireMessage }[] = [];
  const port: DeliveryPort<string> = {
    transportName: 'test',
    capabilities,
    leaseLostReason: 'its visibility timeout ran out',
    settle(receipt: string, settlement: Settlement) {
      calls.push(
        `${settlement.kind}${settlement.kind === 'requeue' ? `:${settlement.delayMs}` : ''}:${receipt}`,
      );
      return true;
    },
    deadLetterQueueOf: (queue) => `${queue}.dlq`,
    async publishDeadLetter(queue, letter) {
      letters.push({ queue, letter });
    },
    extendVisibility(receipt, ms) {
      calls.push(`extend:${ms}:${receipt}`);
      return true;
    },
    ...overrides,
  };
  return { port, calls, letters };
}

function open(port: DeliveryPort<string>, init: { raw?: Uint8Array; message?: WireMessage | null } = {}) {
  const held = new HeldDeliveries();
  const window = new PrefetchWindow(2);
  const delivery = new TransportDelivery<string>({
    port,
    held,
    window,
    receipt: 'r1',
    queue: 'q',
    message: init.message === undefined ? message : init.message,
    raw: init.raw ?? null,
    deliveryCount: 1,
  });
  return { delivery, held, window };
}

const code = (expected: string) => (error: unknown) =>
  error instanceof ConveyorError && error.code === expected;

describe('TransportDelivery: the one delivery state machine', () => {
  it('settles once: later ack, nack and reject reach nothing', async () => {
    const { port, calls, letters } = recordingPort();
    const { delivery, held, window } = open(port);
    expect([held.size, window.held]).toEqual([1, 1]);
    await delivery.ack();
    await delivery.ack();
    await delivery.nack();
    await delivery.reject('late');
    expect(calls).toEqual(['ack:r1']);
    expect(letters).toEqual([]);
    expect([delivery.state, held.size, window.held]).toEqual(['settled', 0, 0]);
  });

  it('a second call while the first settle is on its way is a no-op too', async () => {
    let finish: (applied: boolean) => void = () => {};
    const { port, calls } = recordingPort({
      settle: (receipt, settlement) => {
        calls.push(`${settlement.kind}:${receipt}`);
        return new Promise<boolean>((resolve) => {
          finish = resolve;
        });
      },
    });
    const { delivery } = open(port);
    const first = delivery.ack();
    expect(delivery.state).toBe('settling');
    await delivery.nack();
    finish(true);
    await first;
    expect(calls).toEqual(['ack:r1']);
    expect(delivery.state).toBe('settled');
  });

  it('after close every settle and extendVisibility rejects with TransportClosedError', async () => {
    const { port, calls } = recordingPort();
    const { delivery, held, window } = open(port);
    expect(held.closeAll()).toEqual([delivery]);
    expect([delivery.state, window.held]).toEqual(['closed', 0]);
    await expect(delivery.ack()).rejects.toSatisfy(code('TRANSPORT_CLOSED'));
    await expect(delivery.nack()).rejects.toSatisfy(code('TRANSPORT_CLOSED'));
    await expect(delivery.reject('x')).rejects.toSatisfy(code('TRANSPORT_CLOSED'));
    await expect(delivery.extendVisibility(1000)).rejects.toSatisfy(code('TRANSPORT_CLOSED'));
    expect(calls).toEqual([]);
  });

  it('a delivery settled before close stays a no-op after it', async () => {
    const { port } = recordingPort();
    const { delivery, held } = open(port);
    await delivery.ack();
    expect(held.closeAll()).toEqual([]);
    await expect(delivery.ack()).resolves.toBeUndefined();
  });

  it('reports LeaseLostError when the broker no longer held it, and stays lost', async () => {
    const { port } = recordingPort({ settle: () => false });
    const { delivery } = open(port);
    await expect(delivery.ack()).rejects.toSatisfy(code('LEASE_LOST'));
    expect(delivery.state).toBe('lease-lost');
    await expect(delivery.nack()).rejects.toSatisfy(code('LEASE_LOST'));
  });

  it('reports LeaseLostError without a broker call when the port says it no longer holds it', async () => {
    const { port, calls, letters } = recordingPort({ holds: () => false });
    const { delivery, window } = open(port);
    await expect(delivery.reject('bad')).rejects.toSatisfy(code('LEASE_LOST'));
    expect([calls, letters, window.held]).toEqual([[], [], 0]);
  });

  it('loseLease (the transport learned it) frees the slot and makes settles report LeaseLostError', async () => {
    const { port, calls } = recordingPort();
    const { delivery, held } = open(port);
    expect(delivery.loseLease()).toBe(true);
    expect(delivery.loseLease()).toBe(false);
    expect(held.size).toBe(0);
    await expect(delivery.ack()).rejects.toSatisfy(code('LEASE_LOST'));
    await expect(delivery.extendVisibility(10)).rejects.toSatisfy(code('LEASE_LOST'));
    expect(calls).toEqual([]);
  });

  it('a settle that failed reopens the delivery: it can be settled again and counts as held', async () => {
    let fail = true;
    const { port, calls } = recordingPort({
      settle: async (receipt, settlement) => {
        calls.push(`${settlement.kind}:${receipt}`);
        if (fail) throw new Error('connection reset');
        return true;
      },
    });
    const { delivery, window } = open(port);
    await expect(delivery.ack()).rejects.toThrow('connection reset');
    expect([delivery.state, window.held]).toEqual(['open', 1]);
    fail = false;
    await delivery.nack();
    expect(calls).toEqual(['ack:r1', 'requeue:r1']);
    expect(delivery.state).toBe('settled');
  });

  it('a settle that failed after close leaves the delivery closed', async () => {
    let finish: (error: Error) => void = () => {};
    const { port } = recordingPort({
      settle: () =>
        new Promise<boolean>((_, reject) => {
          finish = reject;
        }),
    });
    const { delivery, held } = open(port);
    const settling = delivery.ack();
    held.closeAll();
    finish(new Error('gone'));
    await expect(settling).rejects.toThrow('gone');
    expect(delivery.state).toBe('closed');
  });

  it('nack checks the delay against the capabilities before anything reaches the broker', async () => {
    const { port, calls } = recordingPort();
    const { delivery } = open(port);
    await expect(delivery.nack({ delayMs: 120_000 })).rejects.toSatisfy(code('UNSUPPORTED_FEATURE'));
    expect(delivery.state).toBe('open');
    await delivery.nack({ delayMs: 500 });
    expect(calls).toEqual(['requeue:500:r1']);
  });

  it('reject stores the letter (reason and source headers) before the original is removed', async () => {
    const order: string[] = [];
    const { port, letters } = recordingPort({
      settle: (_r, settlement) => {
        order.push(settlement.kind);
        return true;
      },
    });
    const publishDeadLetter = port.publishDeadLetter;
    port.publishDeadLetter = async (queue, letter) => {
      order.push('letter');
      await publishDeadLetter(queue, letter);
    };
    const { delivery } = open(port);
    await delivery.reject('no such task');
    expect(order).toEqual(['letter', 'dead-lettered']);
    expect(letters[0]!.queue).toBe('q.dlq');
    expect(letters[0]!.letter.headers).toMatchObject({
      id: 'm1',
      [DEAD_LETTER_REASON_HEADER]: 'no such task',
      [DEAD_LETTER_SOURCE_HEADER]: 'q',
    });
  });

  it('an undecodable payload is dead-lettered as its raw bytes, unchanged', async () => {
    const { port, letters } = recordingPort();
    const raw = Uint8Array.from([0xff, 0xfe, 0x00, 0x80]);
    const { delivery } = open(port, { message: null, raw });
    await delivery.reject('malformed');
    const letter = letters[0]!.letter;
    expect(letter.properties.content_type).toBe(RAW_CONTENT_TYPE);
    expect([...letter.body]).toEqual([0xff, 0xfe, 0x00, 0x80]);
  });

  it('a letter that could not be stored leaves the delivery open and the original in place', async () => {
    const { port, calls } = recordingPort({
      publishDeadLetter: async () => {
        throw new Error('dlq refused');
      },
    });
    const { delivery } = open(port);
    await expect(delivery.reject('x')).rejects.toThrow('dlq refused');
    expect(delivery.state).toBe('open');
    expect(calls).toEqual([]);
  });

  it('reject without a dead-letter queue, or on a transport without deadLetter, is UnsupportedFeatureError', async () => {
    const none = recordingPort({ deadLetterQueueOf: () => null });
    await expect(open(none.port).delivery.reject('x')).rejects.toSatisfy(code('UNSUPPORTED_FEATURE'));
    const noCapability = recordingPort({ capabilities: { ...capabilities, deadLetter: false } });
    await expect(open(noCapability.port).delivery.reject('x')).rejects.toSatisfy(code('UNSUPPORTED_FEATURE'));
  });

  it('extendVisibility takes 1 ms to 12 h, names the option otherwise, and is a no-op once settled', async () => {
    const { port, calls } = recordingPort();
    const { delivery } = open(port);
    for (const bad of [0, -5, Number.NaN, 12 * 3600_000 + 1]) {
      await expect(delivery.extendVisibility(bad)).rejects.toSatisfy(
        (error: unknown) => code('INVALID_OPTION')(error) && (error as { option?: string }).option === 'ms',
      );
    }
    await delivery.extendVisibility(12 * 3600_000);
    expect(delivery.state).toBe('open');
    expect(delivery.deliveryCount).toBe(1);
    await delivery.ack();
    await delivery.extendVisibility(1000);
    expect(calls).toEqual([`extend:${12 * 3600_000}:r1`, 'ack:r1']);
  });

  it('extendVisibility that finds the lease gone reports LeaseLostError and frees the slot', async () => {
    const { port } = recordingPort({ extendVisibility: async () => false });
    const { delivery, window } = open(port);
    await expect(delivery.extendVisibility(1000)).rejects.toSatisfy(code('LEASE_LOST'));
    expect([delivery.state, window.held]).toEqual(['lease-lost', 0]);
  });

  it('extendVisibility on a transport that does not claim it is UnsupportedFeatureError', async () => {
    const { port } = recordingPort({ capabilities: { ...capabilities, visibilityExtension: false } });
    await expect(open(port).delivery.extendVisibility(1000)).rejects.toSatisfy(code('UNSUPPORTED_FEATURE'));
  });

  it('HeldDeliveries counts per consumer window, tells the consumer when a slot frees, and closes late arrivals', async () => {
    const { port } = recordingPort();
    const held = new HeldDeliveries();
    let freed = 0;
    const window = new PrefetchWindow(3, () => {
      freed += 1;
    });
    const make = (receipt: string) =>
      new TransportDelivery<string>({ port, held, window, receipt, queue: 'q', message, deliveryCount: 1 });
    const a = make('a');
    make('b');
    expect([window.held, window.free, held.size]).toEqual([2, 1, 2]);
    await a.ack();
    expect([window.held, freed]).toEqual([1, 1]);
    expect(held.closeAll<TransportDelivery<string>>().map((d) => d.receipt)).toEqual(['b']);
    const late = make('c');
    expect([late.state, held.size, window.held]).toEqual(['closed', 0, 0]);
  });
});

describe('TransportDelivery: counts carried by a re-published copy, and the receive-side size limit', () => {
  it('adds the carried count to the broker count and hides the header from the message', () => {
    const { port } = recordingPort();
    const copy: WireMessage = {
      ...message,
      headers: { ...message.headers, [CARRIED_DELIVERY_COUNT_HEADER]: 4 },
    };
    const { delivery } = open(port, { message: copy });
    expect(delivery.deliveryCount).toBe(5);
    expect(delivery.message?.headers).toEqual({ id: 'm1', task: 't' });
  });

  it('ignores a carried count that is not a positive integer', () => {
    const { port } = recordingPort();
    for (const bad of [-3, 1.5, 'x', null]) {
      const copy: WireMessage = {
        ...message,
        headers: { ...message.headers, [CARRIED_DELIVERY_COUNT_HEADER]: bad },
      };
      expect(open(port, { message: copy }).delivery.deliveryCount).toBe(1);
    }
  });

  it('hands a requeue the message stamped with the count so far, and an ack the plain message', async () => {
    const seen: { kind: string; message: WireMessage | null }[] = [];
    const { port } = recordingPort({
      settle(_receipt, settlement, sent) {
        seen.push({ kind: settlement.kind, message: sent });
        return true;
      },
    });
    const copy: WireMessage = {
      ...message,
      headers: { ...message.headers, [CARRIED_DELIVERY_COUNT_HEADER]: 2 },
    };
    await open(port, { message: copy }).delivery.nack({ delayMs: 10 });
    await open(port, { message: copy }).delivery.ack();
    expect(seen[0]?.message?.headers[CARRIED_DELIVERY_COUNT_HEADER]).toBe(3);
    expect(seen[1]?.message?.headers[CARRIED_DELIVERY_COUNT_HEADER]).toBeUndefined();
  });

  it('marks a body above capabilities.maxMessageBytes as malformed, naming both sizes', () => {
    const { port } = recordingPort();
    const big: WireMessage = { ...message, body: new Uint8Array(capabilities.maxMessageBytes + 1) };
    const { delivery } = open(port, { message: big });
    expect(delivery.malformed?.reason).toMatch(/1025 bytes is above this transport's limit of 1024 bytes/);
    expect(open(port).delivery.malformed).toBeNull();
  });
});
