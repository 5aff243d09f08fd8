import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, defineTask, Worker } from '@conveyor/core';
import { type CeleryWorker, sendFromPython, startCeleryWorker } from '@conveyor/python-interop';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisResultBackend, RedisTransport } from '../src/index.js';
import { rawClient, singleNodeHarness } from './redis-harness.js';

// Message signing both ways with real Python Celery 5.7 over Redis (issue 13): Celery's `auth`
// serializer (celery.security, cryptography pinned in tooling/python) and Conveyor's signing are one
// format, so a signed Python producer and a Conveyor worker trust each other, and the reverse.
// Keys and certificates are made by openssl for this run. Without Python or Redis the cases fail,
// never skip, in CI or not (as the other interop files do).
const DB = 15;
const BROKER = `redis://127.0.0.1:6379/${DB}`;

interface Identity {
  keyFile: string;
  certificateFile: string;
  key: string;
  certificate: string;
}

const dir = mkdtempSync(join(tmpdir(), 'conveyor-celery-signing-'));
/** The certificates a Celery worker trusts (its `security_cert_store`): Python's and Conveyor's. */
const celeryStore = join(dir, 'trusted');

/** A key (kept out of the store: Celery reads every file there as a certificate) and its certificate. */
function makeIdentity(name: string, serial: number, into = dir): Identity {
  const keyFile = join(dir, `${name}.key`);
  const certificateFile = join(into, `${name}.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certificateFile,
      '-days',
      '2',
      '-subj',
      `/O=Conveyor Interop/CN=${name}`,
      '-set_serial',
      String(serial),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return {
    keyFile,
    certificateFile,
    key: readFileSync(keyFile, 'utf8'),
    certificate: readFileSync(certificateFile, 'utf8'),
  };
}

/** Environment that makes tooling/python/interop/celery_app.py sign and verify with `identity`. */
function celerySecurityEnv(identity: Identity): Record<string, string> {
  return {
    CELERY_SECURITY_KEY: identity.keyFile,
    CELERY_SECURITY_CERTIFICATE: identity.certificateFile,
    CELERY_SECURITY_CERT_STORE: celeryStore,
  };
}

let python: Identity;
let conveyor: Identity;
let stranger: Identity;
const queues: string[] = [];

beforeAll(() => {
  mkdirSync(celeryStore);
  python = makeIdentity('python-producer', 101, celeryStore);
  conveyor = makeIdentity('conveyor-producer', 202, celeryStore);
  stranger = makeIdentity('stranger', 303);
});

afterAll(async () => {
  await singleNodeHarness('celery-signing', DB).cleanup?.(queues.flatMap((q) => [q, `${q}.dlq`]));
  const client = rawClient(DB);
  await client.del(...queues.flatMap((q) => [`_kombu.binding.${q}`, `_kombu.binding_permanent.${q}`]));
  client.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

function uniqueQueue(): string {
  const queue = `interop-signing-${randomUUID().slice(0, 8)}`;
  queues.push(queue);
  return queue;
}

const add = defineTask({ name: 'interop.add', handler: ([a, b]: [number, number]) => a + b });

describe('Celery auth serializer <-> Conveyor signing over Redis', () => {
  it('Python signs with Celery’s auth serializer, a Conveyor worker trusting its certificate runs it; an untrusted Python signer is dead-lettered', async () => {
    const queue = uniqueQueue();
    const transport = new RedisTransport({ url: BROKER, pollIntervalMs: 50 });
    const results = new RedisResultBackend(BROKER);
    const worker = new Worker({
      transport,
      results,
      tasks: [add],
      queues: [queue],
      signing: { trusted: [python.certificate], require: true },
    });
    const rejected: string[] = [];
    worker.on('rejected', ({ reason }) => rejected.push(reason));
    await worker.start();
    try {
      const sent = await sendFromPython({
        brokerUrl: BROKER,
        resultBackend: BROKER,
        queue,
        task: 'interop.add',
        args: [2, 3],
        waitSeconds: 20,
        env: celerySecurityEnv(python),
      });
      expect(sent).toMatchObject({ status: 'SUCCESS', result: 5 });

      await sendFromPython({
        brokerUrl: BROKER,
        queue,
        task: 'interop.add',
        args: [6, 6],
        env: { ...celerySecurityEnv(stranger), CELERY_SECURITY_CERT_STORE: stranger.certificateFile },
      });
      await expect.poll(() => rejected, { timeout: 20_000 }).toHaveLength(1);
      expect(rejected[0]).toMatch(
        /signature rejected \(unknown-signer\): signer "Conveyor Interop stranger 303" is not among the trusted/,
      );
    } finally {
      await worker.stop({ deadlineMs: 0 });
      await transport.close();
      await results.close?.();
    }
  }, 90_000);

  describe('a Celery worker with task_serializer=auth and accept_content=[auth]', () => {
    let celery: CeleryWorker;
    const queue = uniqueQueue();
    const transport = new RedisTransport(BROKER);
    const results = new RedisResultBackend(BROKER);

    beforeAll(async () => {
      celery = await startCeleryWorker({
        brokerUrl: BROKER,
        resultBackend: BROKER,
        queue,
        env: celerySecurityEnv(python),
      });
    }, 120_000);

    afterAll(async () => {
      await celery?.stop();
      await transport.close();
      await results.close?.();
    });

    it('runs a task signed by a Conveyor Client whose certificate it trusts, headers bound or not', async () => {
      const client = new Client({
        transport,
        results,
        signing: { key: conveyor.key, certificate: conveyor.certificate },
      });
      const handle = await client.send<[number, number], number, [number, number]>('interop.add', [20, 22], {
        queue,
      });
      await expect(handle.get({ timeout: 30_000 })).resolves.toBe(42);
      // Conveyor's optional header signature is a header Celery does not know: it runs the task all the same.
      const binding = new Client({
        transport,
        results,
        signing: { key: conveyor.key, certificate: conveyor.certificate, bindHeaders: true },
      });
      const bound = await binding.send<[number, number], number, [number, number]>('interop.add', [1, 2], {
        queue,
      });
      await expect(bound.get({ timeout: 30_000 })).resolves.toBe(3);
    }, 60_000);

    it('refuses what a Conveyor Client sends unsigned, or signs with a key it does not trust', async () => {
      const unsigned = new Client({ transport, results });
      const untrusted = new Client({
        transport,
        results,
        signing: { key: stranger.key, certificate: stranger.certificate },
      });
      const logged = celery.waitForLog(/untrusted content of type json/, { timeoutMs: 20_000 });
      await unsigned.send('interop.add', [1, 1], { queue });
      await logged;
      const unknown = celery.waitForLog(/Unknown certificate/, { timeoutMs: 20_000 });
      await untrusted.send('interop.add', [1, 2], { queue });
      expect(await unknown).toBeTruthy();
    }, 60_000);
  });
});
