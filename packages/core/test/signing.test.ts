import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  Client,
  DEAD_LETTER_REASON_HEADER,
  type Delivery,
  defineTask,
  HEADER_SIGNATURE_HEADER,
  InvalidOptionError,
  MemoryResultBackend,
  MemoryTransport,
  MessageSignatureError,
  MessageSigner,
  MessageVerifier,
  SIGNED_CONTENT_TYPE,
  type Task,
  Worker,
  type WorkerSigningOptions,
} from '../src/index.js';
import { packAuthEnvelope, unpackAuthEnvelope } from '../src/signing/auth-envelope.js';
import { collect, eventually, pause, uniqueBroker } from './helpers.js';
import { makeSigningIdentity, type TestSigningIdentity } from './signing-certificates.js';

// Certificates are made by openssl once per file: `old` and `fresh` are one issuer's key before and
// after a rotation (serials 1 and 2), `stranger` is a producer no worker trusts.
let old: TestSigningIdentity;
let fresh: TestSigningIdentity;
let stranger: TestSigningIdentity;

beforeAll(() => {
  old = makeSigningIdentity('Conveyor Signing', 1);
  fresh = makeSigningIdentity('Conveyor Signing', 2);
  stranger = makeSigningIdentity('Somebody Else', 1);
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ran: unknown[][] = [];
const add = defineTask({
  name: 'signed.add',
  handler: (args: [number, number]) => {
    ran.push(args);
    return args[0] + args[1];
  },
});

interface Harness {
  transport: MemoryTransport;
  results: MemoryResultBackend;
  worker: Worker;
  rejected: string[];
  /** A client on the same broker; signing with `identity` when given. */
  client(identity?: TestSigningIdentity, bindHeaders?: boolean): Client;
}

async function startWorker(signing: WorkerSigningOptions, tasks: Task[] = [add]): Promise<Harness> {
  const broker = uniqueBroker('signing');
  const transport = new MemoryTransport({ broker });
  const results = new MemoryResultBackend();
  const worker = new Worker({
    transport,
    tasks,
    results,
    signing,
    retry: { initialDelayMs: 10, factor: 1, maxDelayMs: 10, jitter: 'none' },
  });
  const rejected: string[] = [];
  worker.on('rejected', ({ reason }) => rejected.push(reason));
  cleanups.push(async () => {
    await worker.stop({ deadlineMs: 0 });
    await transport.close();
  });
  await worker.start();
  return {
    transport,
    results,
    worker,
    rejected,
    client: (identity, bindHeaders = false) =>
      new Client({
        transport,
        results,
        ...(identity
          ? { signing: { key: identity.key, certificate: identity.certificate, bindHeaders } }
          : {}),
      }),
  };
}

const reasonOf = (delivery: Delivery): unknown => delivery.message?.headers[DEAD_LETTER_REASON_HEADER];

/** The wire message a signed client would publish, taken off a queue no worker reads. */
async function signedWire(identity: TestSigningIdentity, args: [number, number], bindHeaders = false) {
  const transport = new MemoryTransport({ broker: uniqueBroker('capture') });
  await transport.connect();
  const client = new Client({
    transport,
    signing: { key: identity.key, certificate: identity.certificate, bindHeaders },
  });
  await client.send('signed.add', args, { queue: 'capture' });
  const [delivery] = await collect(transport, 'capture');
  await transport.close();
  return delivery!.message!;
}

describe('message signing on memory://', () => {
  it('a signed task runs on a worker that trusts its certificate; the body travels in Celery auth form', async () => {
    const wire = await signedWire(old, [2, 3]);
    expect(wire.properties).toMatchObject({ content_type: SIGNED_CONTENT_TYPE, content_encoding: 'utf-8' });
    const envelope = unpackAuthEnvelope(wire.body);
    expect(envelope.signer).toBe('US Conveyor Tests Conveyor Signing 1');
    expect(envelope.contentType).toBe('application/json');
    expect(JSON.parse(envelope.body.toString('utf8'))).toEqual([[2, 3], {}, expect.any(Object)]);
    // Headers (task name, id) are outside Celery's signature and stay readable.
    expect(wire.headers.task).toBe('signed.add');

    const h = await startWorker({ trusted: [old.certificate] });
    const handle = await h.client(old).send(add, [2, 3]);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe(5);
    expect(h.rejected).toEqual([]);
  });

  it('dead-letters a tampered body, a tampered signature and an unknown signer with the reason, runs none, and keeps going', async () => {
    const h = await startWorker({ trusted: [old.certificate] });
    const dead = await collect(h.transport, 'celery.dlq');
    ran.length = 0;

    const original = await signedWire(old, [1, 1]);
    const envelope = unpackAuthEnvelope(original.body);
    const tamperedBody = packAuthEnvelope({ ...envelope, body: Buffer.from('[[1000, 1], {}, null]') });
    const flipped = Buffer.from(envelope.signature);
    flipped[10] = (flipped[10] ?? 0) ^ 0xff;
    const tamperedSignature = packAuthEnvelope({ ...envelope, signature: flipped });
    await h.transport.publish('celery', { ...original, body: tamperedBody });
    await h.transport.publish('celery', { ...original, body: tamperedSignature });
    await h.client(stranger).send(add, [7, 7]);
    await h.transport.publish('celery', { ...original, body: Buffer.from('not an envelope') });

    await eventually(() => expect(dead).toHaveLength(4));
    const reasons = dead.map(reasonOf);
    expect(reasons[0]).toMatch(/signature rejected \(tampered\).*"US Conveyor Tests Conveyor Signing 1"/);
    expect(reasons[1]).toMatch(/signature rejected \(tampered\)/);
    expect(reasons[2]).toMatch(
      /signature rejected \(unknown-signer\): signer "US Conveyor Tests Somebody Else 1" is not among the trusted/,
    );
    expect(reasons[3]).toMatch(/signature rejected \(malformed\)/);
    // The letters keep the message as it arrived, signed envelope included.
    expect(Buffer.from(dead[0]!.message!.body).equals(tamperedBody)).toBe(true);
    expect(ran).toEqual([]);

    const handle = await h.client(old).send(add, [4, 5]);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe(9);
    expect(ran).toEqual([[4, 5]]);
  });

  it('dead-letters an unsigned task when signing is required (the default), runs it when not', async () => {
    const required = await startWorker({ trusted: [old.certificate] });
    const dead = await collect(required.transport, 'celery.dlq');
    ran.length = 0;
    await required.client().send(add, [1, 2]);
    await eventually(() => expect(dead).toHaveLength(1));
    expect(reasonOf(dead[0]!)).toMatch(
      /signature rejected \(unsigned\): signing is required and the message is not signed \(content type "application\/json"\)/,
    );
    expect(ran).toEqual([]);

    const optional = await startWorker({ trusted: [old.certificate], require: false });
    await expect((await optional.client().send(add, [1, 2])).get({ timeout: 10_000 })).resolves.toBe(3);
    // Not required is not "anything goes": a signature that is there must still hold.
    const optionalDead = await collect(optional.transport, 'celery.dlq');
    await optional.client(stranger).send(add, [1, 2]);
    await eventually(() => expect(optionalDead).toHaveLength(1));
    expect(reasonOf(optionalDead[0]!)).toMatch(/unknown-signer/);
  });

  it('rotation: a worker trusting the old and the new certificate runs both; once the old is dropped, its tasks are refused', async () => {
    const both = await startWorker({ trusted: [old.certificate, fresh.certificate] });
    expect(new MessageVerifier({ trusted: [old.certificate + fresh.certificate] }).trustedSigners).toEqual([
      'US Conveyor Tests Conveyor Signing 1',
      'US Conveyor Tests Conveyor Signing 2',
    ]);
    await expect((await both.client(old).send(add, [1, 1])).get({ timeout: 10_000 })).resolves.toBe(2);
    await expect((await both.client(fresh).send(add, [2, 2])).get({ timeout: 10_000 })).resolves.toBe(4);

    const newOnly = await startWorker({ trusted: [fresh.certificate] });
    const dead = await collect(newOnly.transport, 'celery.dlq');
    await newOnly.client(old).send(add, [3, 3]);
    await expect((await newOnly.client(fresh).send(add, [4, 4])).get({ timeout: 10_000 })).resolves.toBe(8);
    await eventually(() => expect(dead).toHaveLength(1));
    expect(reasonOf(dead[0]!)).toMatch(/unknown-signer.*Conveyor Signing 1"/);
  });

  it('a retry of a signed task (headers bound) is re-published with the producer signatures intact and runs again', async () => {
    let attempts = 0;
    const flaky = defineTask({
      name: 'signed.flaky',
      retry: { maxRetries: 2 },
      handler: (_args: []) => {
        attempts += 1;
        if (attempts < 3) throw new Error('not yet');
        return 'done';
      },
    });
    const h = await startWorker({ trusted: [old.certificate], requireBoundHeaders: true }, [flaky]);
    const handle = await h.client(old, true).send(flaky, []);
    await expect(handle.get({ timeout: 10_000 })).resolves.toBe('done');
    expect(attempts).toBe(3);
    expect(h.rejected).toEqual([]);
  });

  it('bound headers: a task name or id moved onto a signed body is refused; unbound messages are refused when bound headers are required', async () => {
    const double = defineTask({
      name: 'signed.double',
      handler: ([a]: [number, number]) => {
        ran.push(['double', a]);
        return a * 2;
      },
    });
    const h = await startWorker({ trusted: [old.certificate], requireBoundHeaders: true }, [add, double]);
    const dead = await collect(h.transport, 'celery.dlq');
    ran.length = 0;

    const bound = await signedWire(old, [5, 6], true);
    expect(bound.headers[HEADER_SIGNATURE_HEADER]).toEqual(expect.any(String));
    // Celery signs the body only: the same body under another task name or id is what binding stops.
    await h.transport.publish('celery', { ...bound, headers: { ...bound.headers, task: 'signed.double' } });
    await h.transport.publish('celery', { ...bound, headers: { ...bound.headers, id: randomUUID() } });
    await h.client(old).send(add, [1, 1]);
    await eventually(() => expect(dead).toHaveLength(3));
    expect(dead.slice(0, 2).map(reasonOf)).toEqual([
      expect.stringMatching(/signature rejected \(tampered-headers\): the headers naming the task/),
      expect.stringMatching(/tampered-headers/),
    ]);
    expect(reasonOf(dead[2]!)).toMatch(
      /signature rejected \(unbound-headers\): bound headers are required and the message has no x-conveyor-header-signature header/,
    );
    expect(ran).toEqual([]);

    await h.transport.publish('celery', bound);
    await eventually(() => expect(ran).toEqual([[5, 6]]));
    await expect((await h.client(old, true).send(add, [2, 2])).get({ timeout: 10_000 })).resolves.toBe(4);
  });

  it('a worker without signing options refuses a signed message rather than guess', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker('plain') });
    const worker = new Worker({ transport, tasks: [add] });
    cleanups.push(async () => {
      await worker.stop({ deadlineMs: 0 });
      await transport.close();
    });
    await worker.start();
    const dead = await collect(transport, 'celery.dlq');
    await new Client({ transport, signing: { key: old.key, certificate: old.certificate } }).send(
      add,
      [1, 2],
    );
    await eventually(() => expect(dead).toHaveLength(1));
    expect(reasonOf(dead[0]!)).toMatch(/content type "application\/data" is not accepted/);
    await pause(0);
  });
});

describe('signing options', () => {
  const invalid = (build: () => unknown, option: string) => {
    let error: unknown;
    try {
      build();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
    return error as InvalidOptionError;
  };
  const transport = new MemoryTransport({ broker: uniqueBroker('options') });

  it('Client: a key that is not the certificate’s, an unreadable key, a bad digest or an unknown option is refused naming it', () => {
    invalid(
      () => new Client({ transport, signing: { key: fresh.key, certificate: old.certificate } }),
      'signing.key',
    );
    const error = invalid(
      () => new Client({ transport, signing: { key: 'not a key', certificate: old.certificate } }),
      'signing.key',
    );
    expect(error.message).not.toContain('not a key');
    invalid(
      () => new Client({ transport, signing: { key: old.key, certificate: 'nothing here' } }),
      'signing.certificate',
    );
    invalid(
      () =>
        new Client({
          transport,
          signing: { key: old.key, certificate: old.certificate, digest: 'md5' as 'sha256' },
        }),
      'signing.digest',
    );
    invalid(
      () =>
        new Client({
          transport,
          signing: { key: old.key, certificate: old.certificate, passphrase: 1 as unknown as string },
        }),
      'signing.passphrase',
    );
    invalid(
      () =>
        new Client({
          transport,
          signing: { key: old.key, certificate: old.certificate, bindHeaders: 'yes' as unknown as boolean },
        }),
      'signing.bindHeaders',
    );
    invalid(
      () =>
        new Client({
          transport,
          signing: { key: old.key, certificate: old.certificate, keyId: 'x' } as never,
        }),
      'signing.keyId',
    );
  });

  it('a KeyObject works as the key; a public KeyObject is refused', () => {
    const signer = new MessageSigner({ key: createPrivateKey(old.key), certificate: old.certificate });
    expect(signer.signerId).toBe('US Conveyor Tests Conveyor Signing 1');
    invalid(
      () => new MessageSigner({ key: createPublicKey(old.certificate), certificate: old.certificate }),
      'signing.key',
    );
  });

  it('Client and Worker: a non-RSA key or certificate is refused (Celery signs with RSA only)', () => {
    const ec = makeSigningIdentity('Elliptic', 3, 'ec');
    invalid(() => new MessageSigner({ key: ec.key, certificate: ec.certificate }), 'signing.key');
    invalid(() => new MessageVerifier({ trusted: [old.certificate, ec.certificate] }), 'signing.trusted[1]');
  });

  it('Worker: no trusted certificate, a duplicate, a non-boolean require or an unknown option is refused naming it', () => {
    const worker = (signing: unknown) =>
      new Worker({ transport, tasks: [add], signing: signing as WorkerSigningOptions });
    invalid(() => worker({ trusted: [] }), 'signing.trusted');
    invalid(() => worker({ trusted: [old.certificate, old.certificate] }), 'signing.trusted[1]');
    invalid(() => worker({ trusted: ['garbage'] }), 'signing.trusted[0]');
    invalid(() => worker({ trusted: [old.certificate], require: 'yes' }), 'signing.require');
    invalid(() => worker({ trusted: [old.certificate], requireSigned: true }), 'signing.requireSigned');
    invalid(
      () => worker({ trusted: [old.certificate], requireBoundHeaders: 1 }),
      'signing.requireBoundHeaders',
    );
    invalid(() => worker('on'), 'signing');
  });

  it('a trusted certificate that expires while the worker runs stops being accepted (expired-certificate)', async () => {
    const verifier = new MessageVerifier({ trusted: [old.certificate] });
    const wire = await signedWire(old, [1, 2]);
    expect(() => verifier.open(wire)).not.toThrow();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      // The test certificates are valid for two days.
      vi.setSystemTime(Date.now() + 3 * 24 * 3600_000);
      expect(() => verifier.open(wire)).toThrow(
        /signature rejected \(expired-certificate\): the certificate of signer/,
      );
    } finally {
      vi.useRealTimers();
    }
  });

  it('verification errors are MessageSignatureErrors (MalformedMessageError) carrying the claimed signer', async () => {
    const verifier = new MessageVerifier({ trusted: [old.certificate] });
    const wire = await signedWire(stranger, [1, 2]);
    let error: unknown;
    try {
      verifier.open(wire);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MessageSignatureError);
    expect(error).toMatchObject({ rejection: 'unknown-signer', signer: 'US Conveyor Tests Somebody Else 1' });
  });
});
