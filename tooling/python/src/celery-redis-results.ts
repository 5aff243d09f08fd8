// Celery's Redis result backend format, spoken over a bare RESP connection, for the interop tests of
// brokers on which Celery has no result backend (SQS, Kafka): their results go to Redis. The real
// thing is RedisResultBackend of @conveyor/redis, which those packages do not depend on (not even
// for tests): this stand-in writes and reads the same key the same way (`celery-task-meta-<id>`,
// JSON, SET with a 1-day expiry, then PUBLISH on the key), and Python Celery reading and writing
// through it is what the interop tests check.
import { type ResultBackend, type ResultMeta, ResultTimeoutError, type WaitOptions } from '@conveyor/core';
import { RespConnection } from './resp-connection.js';

const READY = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);
/** How often waitFor reads the key again (it polls; it does not subscribe). */
const POLL_INTERVAL_MS = 50;

/** A ResultBackend over `redis://host:port/db` in Celery's format (see the file comment). */
export class CeleryRedisResults implements ResultBackend {
  readonly #connection: RespConnection;
  readonly #ready: Promise<unknown>;

  constructor(url: string) {
    const parsed = new URL(url);
    this.#connection = new RespConnection(parsed.hostname, Number(parsed.port || 6379));
    this.#ready = this.#connection.command('SELECT', parsed.pathname.slice(1) || '0');
  }

  async store(meta: ResultMeta): Promise<void> {
    await this.#ready;
    const key = `celery-task-meta-${meta.task_id}`;
    // Celery's rule: a stored SUCCESS is final.
    const stored = await this.get(meta.task_id);
    if (stored?.status === 'SUCCESS') return;
    const value = JSON.stringify(meta);
    await this.#connection.command('SET', key, value, 'EX', '86400');
    await this.#connection.command('PUBLISH', key, value);
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    await this.#ready;
    const value = await this.#connection.command('GET', `celery-task-meta-${taskId}`);
    return typeof value === 'string' ? (JSON.parse(value) as ResultMeta) : null;
  }

  async waitFor(taskId: string, options: WaitOptions): Promise<ResultMeta> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      options.signal?.throwIfAborted();
      const meta = await this.get(taskId);
      if (meta !== null && READY.has(meta.status)) return meta;
      if (Date.now() >= deadline) throw new ResultTimeoutError(taskId, options.timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }

  async close(): Promise<void> {
    this.#connection.close();
  }
}
