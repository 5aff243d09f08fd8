// Drives the Python side of the Celery interop tests: the pinned virtualenv (setup.sh), a real Celery
// worker running tooling/python/interop/celery_app.py, and the send.py / get_result.py CLIs.
// Every Conveyor transport package uses this to prove "Python sends, Conveyor runs" and the reverse.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of tooling/python (this file lives in src/ or dist/, one level below). */
export const PYTHON_TOOLING_DIR: string = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
/** Absolute path of tooling/python/interop: cwd of every Python process started here. */
export const INTEROP_DIR: string = `${PYTHON_TOOLING_DIR}/interop`;
/** Absolute path of setup.sh. */
export const SETUP_SCRIPT: string = `${PYTHON_TOOLING_DIR}/setup.sh`;

/** Where Celery should connect. Maps to the env vars read by interop/celery_app.py. */
export interface CeleryConnectionOptions {
  /** CELERY_BROKER_URL, e.g. `redis://127.0.0.1:6379/0`, `amqp://guest:guest@127.0.0.1:5672//`. */
  brokerUrl: string;
  /** CELERY_RESULT_BACKEND, e.g. `redis://127.0.0.1:6379/1`. Omit for no result backend. */
  resultBackend?: string;
  /** CELERY_QUEUE: the worker's queue and send_task's default target. Default `celery`. */
  queue?: string;
  /** CELERY_TRANSPORT_OPTIONS: Celery `broker_transport_options` (JSON-serialisable). */
  transportOptions?: Record<string, unknown>;
  /** Extra environment for the Python process. */
  env?: Record<string, string>;
}

/** How celery_app's result helpers describe an exception (FAILURE / REVOKED / RETRY results). */
export interface CeleryExceptionInfo {
  /** Exception class name, e.g. `ValueError`. */
  exc_type: string;
  /** The exception's args as stored by Celery, e.g. `['boom', 42]`. */
  exc_message: unknown;
  /** Module of the class, e.g. `builtins`. */
  exc_module: string;
  /** Python repr, e.g. `ValueError('boom', 42)`. */
  repr?: string;
}

export interface PythonResult {
  /** Celery state: PENDING, STARTED, SUCCESS, FAILURE, RETRY, REVOKED... */
  status: string;
  /** Return value on SUCCESS; a {@link CeleryExceptionInfo} for FAILURE/REVOKED/RETRY; null if not ready. */
  result: unknown;
  /** Stored traceback text for failures. */
  traceback?: string | null;
  /** True when the wait ran out before a ready state. */
  timeout?: boolean;
  /** With `raw: true` (getResultFromPython): the stored result document as the backend holds it. */
  meta?: Record<string, unknown> | null;
}

// ---------------------------------------------------------------------------------------------
// setup.sh

let venvPython: Promise<string> | undefined;

/**
 * Runs setup.sh once per process (later calls share the same promise) and resolves with the venv's
 * python path. A warm run takes ~0.3 s and does no network work; a cold one installs the pins (~8 s
 * with pip's cache, longer without). Rejects with setup.sh's output if it fails; a later call retries.
 */
export function ensurePythonCelery(): Promise<string> {
  if (!venvPython) {
    venvPython = runSetup().catch((error: unknown) => {
      venvPython = undefined;
      throw error;
    });
  }
  return venvPython;
}

async function runSetup(): Promise<string> {
  const { code, stdout, stderr } = await run('bash', [SETUP_SCRIPT], { timeoutMs: 600_000 });
  const lines = stdout.trim().split('\n');
  const python = lines[lines.length - 1]?.trim() ?? '';
  if (code !== 0 || !python || !existsSync(python)) {
    throw new Error(`tooling/python/setup.sh failed (exit ${code}):\n${tail(stderr + stdout, 4000)}`);
  }
  return python;
}

// ---------------------------------------------------------------------------------------------
// Worker

export interface StartCeleryWorkerOptions extends CeleryConnectionOptions {
  /** 1 (default) runs `-P solo`; more runs `-P threads -c <n>`. */
  concurrency?: number;
  /** Node name (`-n`). Default `interop-<pid>-<n>@%h`, unique per worker so pidbox queues never clash. */
  hostname?: string;
  /** Log level (`-l`). Default `info` (the harness needs the info-level "ready." line). */
  logLevel?: 'debug' | 'info';
  /** Send task events (`-E`). Default false. */
  events?: boolean;
  /** More worker CLI arguments, appended last. */
  extraArgs?: string[];
  /** Reject if "ready." has not been logged by then. Default 30 000 ms. */
  readyTimeoutMs?: number;
}

export interface CeleryWorker {
  /** Sends SIGTERM (warm shutdown: the current task finishes, unacked messages are restored) and waits
   *  for exit; SIGKILL after `timeoutMs` (default 15 000). Safe to call twice. */
  stop(timeoutMs?: number): Promise<void>;
  /** Everything the worker wrote so far (stdout and stderr interleaved as received). */
  logs(): string;
  /** Resolves with the first match of `pattern` in log output written after this call (with
   *  `fromStart`: anywhere in the log). Rejects on timeout (default 15 000 ms) or worker exit. */
  waitForLog(
    pattern: RegExp | string,
    options?: { timeoutMs?: number; fromStart?: boolean },
  ): Promise<string>;
  /** The worker's process id. */
  readonly pid: number;
  /** Milliseconds from spawn to the "ready." log line. */
  readonly startupMs: number;
  /** Node name passed with `-n` (with `%h` unexpanded). */
  readonly hostname: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
}

const READY_LINE = /\bready\.\s*$/m;
const LOG_LIMIT = 2_000_000;
const live = new Set<ChildProcess>();
let workerCounter = 0;
let exitHookInstalled = false;

/**
 * Starts `python -m celery -A celery_app worker -P solo|threads --without-mingle --without-gossip
 * --without-heartbeat -Q <queue> -l info` in tooling/python/interop and resolves once the worker logs
 * its "ready." line. Rejects with the log tail if the worker exits first or the timeout passes (the
 * process is killed then). Workers still running when Node exits are SIGKILLed.
 */
export async function startCeleryWorker(options: StartCeleryWorkerOptions): Promise<CeleryWorker> {
  const python = await ensurePythonCelery();
  const concurrency = options.concurrency ?? 1;
  const queue = options.queue ?? 'celery';
  workerCounter += 1;
  const hostname = options.hostname ?? `interop-${process.pid}-${workerCounter}@%h`;
  const args = [
    '-m',
    'celery',
    '-A',
    'celery_app',
    'worker',
    ...(concurrency > 1 ? ['-P', 'threads', '-c', String(concurrency)] : ['-P', 'solo']),
    '--without-mingle',
    '--without-gossip',
    '--without-heartbeat',
    '-Q',
    queue,
    '-n',
    hostname,
    '-l',
    options.logLevel ?? 'info',
    ...(options.events ? ['-E'] : []),
    ...(options.extraArgs ?? []),
  ];

  const startedAt = performance.now();
  const child = spawn(python, args, {
    cwd: INTEROP_DIR,
    env: pythonEnv({ ...options, queue }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);

  let log = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > LOG_LIMIT) log = log.slice(log.length - LOG_LIMIT / 2);
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? 'unknown');
      for (const listener of listeners) listener();
    });
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const waitForLog = (
    pattern: RegExp | string,
    { timeoutMs = 15_000, fromStart = false }: { timeoutMs?: number; fromStart?: boolean } = {},
  ): Promise<string> => {
    const offset = fromStart ? 0 : log.length;
    const matches = (): string | undefined => {
      const text = log.slice(Math.min(offset, log.length));
      if (typeof pattern === 'string') return text.includes(pattern) ? pattern : undefined;
      return pattern.exec(text)?.[0];
    };
    return new Promise<string>((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        fn();
      };
      const check = () => {
        const found = matches();
        if (found !== undefined) done(() => resolve(found));
        else if (hasExited || child.exitCode !== null || child.signalCode !== null)
          done(() =>
            reject(new Error(`Celery worker exited while waiting for ${String(pattern)}:\n${tail(log)}`)),
          );
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(
              new Error(
                `Timed out after ${timeoutMs} ms waiting for ${String(pattern)} in the Celery worker log:\n${tail(log)}`,
              ),
            ),
          ),
        timeoutMs,
      );
      listeners.add(check);
      check();
    });
  };

  const stop = async (timeoutMs = 15_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      await exited;
    } finally {
      clearTimeout(killer);
    }
  };

  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  try {
    await Promise.race([
      waitForLog(READY_LINE, { timeoutMs: readyTimeoutMs, fromStart: true }),
      spawnError.then((error) => {
        throw new Error(`Could not start the Celery worker (${python}): ${error.message}`);
      }),
    ]);
  } catch (error) {
    await stop(2_000).catch(() => {});
    throw error;
  }
  const startupMs = Math.round(performance.now() - startedAt);

  return {
    stop,
    logs: () => log,
    waitForLog,
    pid: child.pid ?? -1,
    startupMs,
    hostname,
    exited,
  };
}

// ---------------------------------------------------------------------------------------------
// send.py / get_result.py

export interface SendFromPythonOptions extends CeleryConnectionOptions {
  /** Registered task name, e.g. `interop.add`. */
  task: string;
  /** Positional args (JSON array). */
  args?: unknown[];
  /** Keyword args (JSON object). */
  kwargs?: Record<string, unknown>;
  /** Seconds until the task may run (`countdown`). */
  countdown?: number;
  /** Absolute ETA; sent as an aware datetime. */
  eta?: Date;
  /** Seconds until the task expires (`expires`). */
  expires?: number;
  /** Message priority. On Redis 0 is consumed first; on RabbitMQ a higher number wins. */
  priority?: number;
  /** Task id to use instead of a fresh uuid4. */
  taskId?: string;
  /** Extra message headers. */
  headers?: Record<string, unknown>;
  /** Ask the worker not to store a result. */
  ignoreResult?: boolean;
  /** Wait this many seconds for the result via the result backend (needs `resultBackend`). */
  waitSeconds?: number;
}

export interface SendFromPythonResult extends Partial<PythonResult> {
  /** The task id Celery generated (or `taskId`). */
  id: string;
}

/**
 * Sends a task from Python Celery (`app.send_task`) through interop/send.py. `queue` is both the
 * CELERY_QUEUE default and the explicit target queue. With `waitSeconds`, also waits for the result and
 * returns its status/result (a wait that runs out gives `timeout: true`, status PENDING).
 * Rejects if publishing fails (e.g. broker down), with Celery's error message.
 */
export async function sendFromPython(options: SendFromPythonOptions): Promise<SendFromPythonResult> {
  const args = [options.task, '--args', JSON.stringify(options.args ?? [])];
  args.push('--kwargs', JSON.stringify(options.kwargs ?? {}));
  if (options.queue !== undefined) args.push('--queue', options.queue);
  if (options.countdown !== undefined) args.push('--countdown', String(options.countdown));
  if (options.eta !== undefined) args.push('--eta', options.eta.toISOString());
  if (options.expires !== undefined) args.push('--expires', String(options.expires));
  if (options.priority !== undefined) args.push('--priority', String(options.priority));
  if (options.taskId !== undefined) args.push('--task-id', options.taskId);
  if (options.headers !== undefined) args.push('--headers', JSON.stringify(options.headers));
  if (options.ignoreResult) args.push('--ignore-result');
  if (options.waitSeconds !== undefined) args.push('--wait', String(options.waitSeconds));

  const lines = await runInterop('send.py', args, options, (options.waitSeconds ?? 0) * 1000 + 60_000);
  const first = lines[0] as { id?: unknown } | undefined;
  if (!first || typeof first.id !== 'string') {
    throw new Error(`send.py printed no task id: ${JSON.stringify(lines)}`);
  }
  const last = lines[lines.length - 1] as Record<string, unknown>;
  return lines.length > 1 ? ({ ...last, id: first.id } as SendFromPythonResult) : { id: first.id };
}

export interface GetResultFromPythonOptions extends Omit<CeleryConnectionOptions, 'brokerUrl'> {
  /** Not needed for key-value backends such as Redis (default `memory://`); passed through if given. */
  brokerUrl?: string;
  /** CELERY_RESULT_BACKEND: required here. */
  resultBackend: string;
  /** Task id. */
  id: string;
  /** How long `AsyncResult.get` waits for a ready state. */
  timeoutSeconds: number;
  /** Also return the stored document verbatim as `meta` (key-value backends such as Redis). */
  raw?: boolean;
}

/**
 * Reads a result the way a Python Celery client does (`AsyncResult(id).get(timeout, propagate=False)`)
 * through interop/get_result.py. Never rejects for task failures: status FAILURE with
 * `result: {exc_type, exc_message, exc_module, repr}`. A wait that runs out gives `timeout: true`.
 */
export async function getResultFromPython(options: GetResultFromPythonOptions): Promise<PythonResult> {
  const args = [options.id, '--timeout', String(options.timeoutSeconds)];
  if (options.raw) args.push('--raw');
  const lines = await runInterop(
    'get_result.py',
    args,
    { ...options, brokerUrl: options.brokerUrl ?? 'memory://' },
    options.timeoutSeconds * 1000 + 60_000,
  );
  const last = lines[lines.length - 1] as (PythonResult & { id?: string }) | undefined;
  if (!last || typeof last.status !== 'string') {
    throw new Error(`get_result.py printed no result: ${JSON.stringify(lines)}`);
  }
  const { id: _id, ...rest } = last;
  return rest;
}

/** Shape printed by interop/capture_redis_envelope.py (see samples/redis-envelope.json). */
export interface RedisEnvelopeCapture {
  versions: Record<string, string>;
  messages: Array<{
    variant: string;
    send_task: Record<string, unknown>;
    list_key: string;
    list_key_hex: string;
    raw: string;
    envelope: {
      body: string;
      'content-encoding': string;
      'content-type': string;
      headers: Record<string, unknown>;
      properties: Record<string, unknown>;
    };
    body_decoded: string;
    body_parsed: unknown;
  }>;
}

/**
 * Runs interop/capture_redis_envelope.py: Python sends interop.add(2, 3) plain, with countdown+priority
 * 6, and with countdown+expires+priority 9 to `queue` (which nothing consumes) and returns the exact
 * list elements it LPUSHed. The queue's keys are deleted afterwards. Redis brokers only.
 */
export async function capturePythonRedisEnvelopes(options: {
  brokerUrl: string;
  queue: string;
  env?: Record<string, string>;
}): Promise<RedisEnvelopeCapture> {
  const python = await ensurePythonCelery();
  const { code, stdout, stderr } = await run(
    python,
    ['capture_redis_envelope.py', '--queue', options.queue],
    { cwd: INTEROP_DIR, env: pythonEnv(options), timeoutMs: 60_000 },
  );
  if (code !== 0)
    throw new Error(`capture_redis_envelope.py failed (exit ${code}):\n${tail(stderr + stdout)}`);
  return JSON.parse(stdout) as RedisEnvelopeCapture;
}

/** Shape printed by interop/capture_sqs_envelope.py (see samples/sqs-envelope.json). */
export interface SqsEnvelopeCapture {
  versions: Record<string, string>;
  messages: Array<{
    /** `plain`, `countdown+priority`, `countdown+expires+priority`, `fifo` or `mangled-name`. */
    variant: string;
    send_task: Record<string, unknown> & { queue: string };
    /** The SQS queue kombu created for `send_task.queue` (its name mangling applied). */
    sqs_queue_name: string;
    /** GetQueueAttributes(All) of that queue, without timestamps and ARN. */
    queue_attributes: Record<string, string>;
    /** The message's system attributes as ReceiveMessage returned them (MessageGroupId on FIFO). */
    system_attributes: Record<string, string>;
    /** MessageAttributes, absent (null) when kombu sends none. */
    message_attributes: Record<string, unknown> | null;
    /** The SQS MessageBody exactly as received: base64 of `envelope_json`. */
    message_body: string;
    /** The envelope line as kombu serialised it (Python json.dumps). */
    envelope_json: string;
    envelope: {
      body: string;
      'content-encoding': string;
      'content-type': string;
      headers: Record<string, unknown>;
      properties: Record<string, unknown>;
    };
    /** The task body after the inner base64 layer. */
    body_decoded: string;
    body_parsed: unknown;
  }>;
}

/**
 * Runs interop/capture_sqs_envelope.py: Python sends interop.add(2, 3) through kombu's SQS transport
 * (plain, countdown+priority 6, countdown+expires+priority 9 to `queue`; plain to `<queue>.fifo` and
 * to `<queue>.dotted@name`) and returns the messages as boto3's ReceiveMessage reads them, before any
 * worker consumed them. The queues are deleted afterwards. SQS brokers only (`sqs://...`).
 */
export async function capturePythonSqsEnvelopes(options: {
  brokerUrl: string;
  queue: string;
  transportOptions?: Record<string, unknown>;
  env?: Record<string, string>;
}): Promise<SqsEnvelopeCapture> {
  const python = await ensurePythonCelery();
  const { code, stdout, stderr } = await run(python, ['capture_sqs_envelope.py', '--queue', options.queue], {
    cwd: INTEROP_DIR,
    env: pythonEnv(options),
    timeoutMs: 90_000,
  });
  if (code !== 0) throw new Error(`capture_sqs_envelope.py failed (exit ${code}):\n${tail(stderr + stdout)}`);
  return JSON.parse(stdout) as SqsEnvelopeCapture;
}

/** A kombu virtual-transport envelope as a capture prints it (hyphenated top-level keys). */
export interface CapturedKombuEnvelope {
  body: string;
  'content-encoding': string;
  'content-type': string;
  headers: Record<string, unknown>;
  properties: Record<string, unknown>;
}

/** How kombu's own channel delivered one record (basic_get), as capture_kafka_record.py prints it. */
export interface KombuKafkaRead {
  task_id: string;
  delivery_info: { exchange: string; routing_key: string };
  delivery_tag: string;
  /** The topic kombu read it from. */
  topic: string;
}

/** Shape printed by interop/capture_kafka_record.py (see samples/kafka-record.json). */
export interface KafkaRecordCapture {
  versions: Record<string, string>;
  messages: Array<{
    /** `plain`, `countdown+priority`, `countdown+expires+priority` or `at-sign-name`. */
    variant: string;
    send_task: Record<string, unknown> & { queue: string };
    /** The topic kombu produced to for `send_task.queue` (its `@` removed). */
    topic: string;
    /** Partitions and replicas of that topic as kombu created it. */
    topic_partitions: number;
    topic_replication: number;
    partition: number;
    offset: number;
    /** The record key: null, kombu sets none. */
    key: string | null;
    /** The record headers: null, kombu sets none. */
    headers: Array<[string, string]> | null;
    timestamp_type: string;
    /** The record value exactly as read (UTF-8): the envelope line as Python json.dumps wrote it. */
    value: string;
    envelope: CapturedKombuEnvelope;
    /** The task body after the envelope's base64 layer. */
    body_decoded: string;
    body_parsed: unknown;
  }>;
  /** kombu's consumer: two records polled, the second acked, the group's committed offsets read back. */
  kombu_consumer: {
    group_id: string;
    polled: KombuKafkaRead[];
    acked: string;
    /** Committed offset per partition (-1001: none) before and after the one ack. */
    committed_before_ack: Record<string, number>;
    committed_after_acking_the_second: Record<string, number>;
    commit_visible_after_ms: number;
  };
  /** A record written the way Conveyor's Kafka transport writes one (key, x-conveyor-* headers, a
   *  3-partition topic), as kombu's channel read it. */
  foreign_record: {
    topic: string;
    topic_partitions: number;
    produced: { partition: number; key: string; headers: Array<[string, string]> };
    kombu_read: KombuKafkaRead;
    kombu_decoded_body: unknown;
  };
}

/**
 * Runs interop/capture_kafka_record.py: Python sends interop.add(2, 3) through kombu's confluentkafka
 * transport (plain, countdown+priority 6, countdown+expires+priority 9 to `queue`; plain to
 * `<queue>.at@name`) and returns the records as a confluent-kafka consumer reads them before any
 * worker did, then how kombu's own consumer reads and commits, and whether it reads a record with a
 * key and headers from a 3-partition topic. Topics and groups are deleted afterwards. Kafka brokers
 * only (`confluentkafka://...`).
 */
export async function capturePythonKafkaRecords(options: {
  brokerUrl: string;
  queue: string;
  transportOptions?: Record<string, unknown>;
  env?: Record<string, string>;
}): Promise<KafkaRecordCapture> {
  const python = await ensurePythonCelery();
  const { code, stdout, stderr } = await run(python, ['capture_kafka_record.py', '--queue', options.queue], {
    cwd: INTEROP_DIR,
    env: pythonEnv(options),
    timeoutMs: 120_000,
  });
  if (code !== 0) throw new Error(`capture_kafka_record.py failed (exit ${code}):\n${tail(stderr + stdout)}`);
  return JSON.parse(stdout) as KafkaRecordCapture;
}

// ---------------------------------------------------------------------------------------------
// internals

function pythonEnv(options: CeleryConnectionOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    CELERY_BROKER_URL: options.brokerUrl,
    CELERY_QUEUE: options.queue ?? 'celery',
    ...options.env,
  };
  if (options.resultBackend !== undefined) env.CELERY_RESULT_BACKEND = options.resultBackend;
  else delete env.CELERY_RESULT_BACKEND;
  if (options.transportOptions !== undefined)
    env.CELERY_TRANSPORT_OPTIONS = JSON.stringify(options.transportOptions);
  else delete env.CELERY_TRANSPORT_OPTIONS;
  return env;
}

async function runInterop(
  script: string,
  args: string[],
  options: CeleryConnectionOptions,
  timeoutMs: number,
): Promise<unknown[]> {
  const python = await ensurePythonCelery();
  const { code, stdout, stderr } = await run(python, [script, ...args], {
    cwd: INTEROP_DIR,
    env: pythonEnv(options),
    timeoutMs,
  });
  const lines: unknown[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    try {
      lines.push(JSON.parse(line));
    } catch {
      // not ours (a stray print); ignore
    }
  }
  if (code !== 0) {
    const last = lines[lines.length - 1] as
      | { error?: { exc_type?: string; exc_message?: unknown } }
      | undefined;
    const reason = last?.error
      ? `${last.error.exc_type}: ${String(last.error.exc_message)}`
      : `exit ${code}\n${tail(stderr + stdout)}`;
    throw new Error(`${script} failed: ${reason}`);
  }
  return lines;
}

interface RunResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? PYTHON_TOOLING_DIR,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackChild(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `\n[killed after ${options.timeoutMs} ms]`;
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      live.delete(child);
      reject(new Error(`Could not run ${command}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code: code ?? signal ?? 'unknown', stdout, stderr });
    });
  });
}

function trackChild(child: ChildProcess): void {
  live.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

function tail(text: string, max = 3000): string {
  return text.length <= max ? text : `…${text.slice(text.length - max)}`;
}
