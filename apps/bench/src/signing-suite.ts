import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Client,
  type ClientSigningOptions,
  defineTask,
  MemoryBroker,
  MemoryTransport,
  MessageSigner,
  MessageVerifier,
  Worker,
  type WorkerSigningOptions,
} from '@conveyor/core';
import { encodeTaskMessage } from '@conveyor/core/transport';
import { markdownTable } from './markdown-tables.js';
import { formatCount, median, repeat, suiteHeading } from './stats.js';

const BATCH = 500;
const CONCURRENCY = 8;
/** RSA sizes of the per-message costs; end to end uses the first (2048 bits, the usual choice). */
const KEY_BITS = [2048, 3072, 4096] as const;
/** Signatures (and verifications) timed per key size and run, by default. */
const CRYPTO_ITERATIONS = 300;

/** Options of the signing suite. */
export interface SigningSuiteOptions {
  tasks: number;
  runs: number;
  /** Signatures (and checks) timed per key size and run. Default 300. */
  cryptoIterations?: number;
}

/** One end-to-end case on memory://. */
export interface SigningEndToEndRow {
  /** `signed + bound headers`: the Client's `bindHeaders`, a second signature over the task's headers. */
  mode: 'unsigned' | 'signed' | 'signed + bound headers';
  keyBits: number | null;
  tasksPerSecond: number;
  runs: number[];
  /** CPU time of this process per task (user + system), median: unlike the rate, barely moved by other load. */
  cpuMicrosPerTask: number;
}

/** What one message costs to sign and to verify with one key size, CPU µs (median of the runs). */
export interface SigningCryptoRow {
  keyBits: number;
  signMicros: number;
  verifyMicros: number;
  /** Bytes the signed envelope adds to the body of the measured message. */
  addedBytes: number;
}

/** Results of the signing suite. */
export interface SigningSuiteResult {
  endToEnd: SigningEndToEndRow[];
  crypto: SigningCryptoRow[];
  /** Body bytes of the measured message before signing. */
  bodyBytes: number;
}

/**
 * The cost of message signing (docs/signing.md): the same no-op task end to end on memory://
 * unsigned and signed (the Client signs, the Worker verifies, one event loop), and per message
 * the RSA-PSS signature and its check for 2048, 3072 and 4096-bit keys.
 */
export async function runSigningSuite(options: SigningSuiteOptions): Promise<SigningSuiteResult> {
  const identities = new Map(KEY_BITS.map((bits) => [bits, makeIdentity(bits)] as const));
  const first = identities.get(KEY_BITS[0])!;
  const endToEnd: SigningEndToEndRow[] = [];
  for (const mode of ['unsigned', 'signed', 'signed + bound headers'] as const) {
    const signing = mode === 'unsigned' ? undefined : first;
    const bindHeaders = mode === 'signed + bound headers';
    const measured = await repeat(options.runs, () => measureOnce(options.tasks, signing, bindHeaders));
    const runs = measured.map((m) => m.tasksPerSecond);
    endToEnd.push({
      mode,
      keyBits: mode === 'unsigned' ? null : KEY_BITS[0],
      tasksPerSecond: median(runs),
      runs,
      cpuMicrosPerTask: median(measured.map((m) => m.cpuMicrosPerTask)),
    });
  }
  const message = encodeTaskMessage({ id: randomUUID(), task: 'bench.noop', args: [1, 'x'] });
  const crypto: SigningCryptoRow[] = [];
  for (const [keyBits, identity] of identities) {
    const signer = new MessageSigner({ key: identity.key, certificate: identity.certificate });
    const verifier = new MessageVerifier({ trusted: [identity.certificate] });
    const signed = signer.sign(message);
    const iterations = options.cryptoIterations ?? CRYPTO_ITERATIONS;
    const timed = await repeat(options.runs, async () => ({
      sign: microsPerCall(iterations, () => signer.sign(message)),
      verify: microsPerCall(iterations, () => verifier.open(signed)),
    }));
    crypto.push({
      keyBits,
      signMicros: median(timed.map((t) => t.sign)),
      verifyMicros: median(timed.map((t) => t.verify)),
      addedBytes: signed.body.byteLength - message.body.byteLength,
    });
  }
  return { endToEnd, crypto, bodyBytes: message.body.byteLength };
}

/** CPU µs per call: on a shared machine wall time counts the other jobs' slices too. */
function microsPerCall(iterations: number, call: () => unknown): number {
  const started = process.cpuUsage();
  for (let i = 0; i < iterations; i++) call();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / iterations;
}

interface Identity {
  key: string;
  certificate: string;
}

/** An RSA key and a self-signed certificate from openssl, for this run only. */
function makeIdentity(bits: number): Identity {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-bench-signing-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        `rsa:${bits}`,
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        `/O=Conveyor Bench/CN=rsa-${bits}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      certificate: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const noop = defineTask({ name: 'bench.noop', ignoreResult: true, handler: ([i]: [number]) => i });

async function measureOnce(
  tasks: number,
  identity: Identity | undefined,
  bindHeaders: boolean,
): Promise<{ tasksPerSecond: number; cpuMicrosPerTask: number }> {
  const transport = new MemoryTransport({ broker: new MemoryBroker() });
  const clientSigning: ClientSigningOptions | undefined = identity && {
    key: identity.key,
    certificate: identity.certificate,
    bindHeaders,
  };
  const workerSigning: WorkerSigningOptions | undefined = identity && {
    trusted: [identity.certificate],
    requireBoundHeaders: bindHeaders,
  };
  const worker = new Worker({
    transport,
    tasks: [noop],
    concurrency: CONCURRENCY,
    ...(workerSigning ? { signing: workerSigning } : {}),
  });
  const client = new Client({ transport, ...(clientSigning ? { signing: clientSigning } : {}) });
  let done = 0;
  let finish: () => void = () => {};
  let fail: (error: unknown) => void = () => {};
  worker.on('succeeded', () => {
    done += 1;
    if (done === tasks) finish();
  });
  // A refused signature would make the signed figure measure dead-lettering instead.
  worker.on('rejected', ({ reason }) => fail(new Error(reason)));
  worker.on('failed', ({ error }) => fail(error));
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  await worker.start();
  const batch: [number][] = Array.from({ length: BATCH }, (_, i) => [i]);
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  for (let sent = 0; sent < tasks; sent += BATCH) {
    await client.sendMany(noop, sent + BATCH <= tasks ? batch : batch.slice(0, tasks - sent));
    await new Promise(setImmediate);
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  await worker.stop();
  await transport.close();
  return { tasksPerSecond: tasks / seconds, cpuMicrosPerTask: (cpu.user + cpu.system) / tasks };
}

/** The Markdown section for docs/benchmarks.md. */
export function signingSuiteMarkdown(
  result: SigningSuiteResult,
  options: SigningSuiteOptions,
  command: string,
): string {
  const lines = suiteHeading(command, options.tasks, options.runs);
  const unsigned = result.endToEnd.find((r) => r.mode === 'unsigned');
  lines.push(
    'Message signing (docs/signing.md) in Celery’s `auth` format: RSA-PSS over the serialized body. End to end,',
    `the same no-op task on memory:// (one process: the Client signs, the Worker verifies, concurrency ${CONCURRENCY},`,
    'batches of 500, no result stored), unsigned, signed with a 2048-bit key, and signed with the headers bound too',
    '(`bindHeaders`: a second signature per message). CPU µs/task is the process CPU time (user + system) per task,',
    'which other jobs on a shared machine barely move, unlike the rate; the overhead is its difference from unsigned.',
    'Per message, the median CPU time of one `MessageSigner.sign` and one',
    `\`MessageVerifier.open\` of a ${result.bodyBytes}-byte body (${options.cryptoIterations ?? CRYPTO_ITERATIONS} calls per run) for each key size: a producer`,
    'pays the signature, a worker the check, which is far cheaper with RSA.',
    '',
  );
  lines.push(
    ...markdownTable(result.endToEnd, [
      { header: 'mode', align: 'left', cell: (r) => (r.keyBits ? `${r.mode} (RSA ${r.keyBits})` : r.mode) },
      { header: 'tasks/s (median)', align: 'right', cell: (r) => formatCount(r.tasksPerSecond) },
      { header: 'µs/task', align: 'right', cell: (r) => (1e6 / r.tasksPerSecond).toFixed(1) },
      { header: 'CPU µs/task', align: 'right', cell: (r) => r.cpuMicrosPerTask.toFixed(1) },
      {
        header: 'CPU overhead µs/task',
        align: 'right',
        cell: (r) =>
          r.mode === 'unsigned' || unsigned === undefined
            ? ''
            : (r.cpuMicrosPerTask - unsigned.cpuMicrosPerTask).toFixed(1),
      },
      { header: 'runs (tasks/s)', align: 'left', cell: (r) => r.runs.map(formatCount).join(', ') },
    ]),
    '',
    ...markdownTable(result.crypto, [
      { header: 'RSA key', align: 'left', cell: (r) => `${r.keyBits} bits` },
      { header: 'sign CPU µs/message', align: 'right', cell: (r) => r.signMicros.toFixed(1) },
      { header: 'verify CPU µs/message', align: 'right', cell: (r) => r.verifyMicros.toFixed(1) },
      { header: 'bytes added to the body', align: 'right', cell: (r) => String(r.addedBytes) },
    ]),
  );
  return lines.join('\n');
}
