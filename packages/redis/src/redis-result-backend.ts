import {
  InvalidOptionError,
  READY_STATES,
  type ResultBackend,
  type ResultMeta,
  ResultWaiters,
  type WaitOptions,
} from '@conveyor/core';
import { openConnection, type RedisConnection } from './connection.js';
import { type RedisTransportOptions, type ResolvedRedisOptions, resolveRedisOptions } from './options.js';
import { toPythonJson } from './python-json.js';
import { loadScripts, type ScriptCaller } from './scripts.js';

/** Options of RedisResultBackend: a connection (as for the transport) plus expiry. */
export interface RedisResultBackendOptions extends RedisTransportOptions {
  /** Seconds a result is kept (Celery's `result_expires`, default one day); 0 keeps it forever. */
  resultExpiresSeconds?: number;
}

/**
 * Celery's Redis result backend, byte for byte: `celery-task-meta-<id>` holds the JSON document
 * (Python's separators), written with SETEX and PUBLISHed on its own channel; a stored SUCCESS is
 * never overwritten. Waiting subscribes to that channel (no polling), then reads the key once, so
 * a result stored before the subscription is not missed.
 */
export class RedisResultBackend implements ResultBackend {
  readonly #options: ResolvedRedisOptions;
  readonly #expires: number;
  #command: RedisConnection | undefined;
  #scripts: ScriptCaller | undefined;
  #subscriber: RedisConnection | undefined;
  #subscribing: Promise<RedisConnection> | undefined;
  readonly #waiters = new ResultWaiters((channel) => {
    this.#subscriber?.unsubscribe(channel).catch(() => {});
  });

  constructor(options: RedisResultBackendOptions | string = {}) {
    const { resultExpiresSeconds, ...connection } = typeof options === 'string' ? { url: options } : options;
    const expires = resultExpiresSeconds ?? 86_400;
    if (!(Number.isInteger(expires) && expires >= 0)) {
      throw new InvalidOptionError('resultExpiresSeconds', 'must be an integer >= 0');
    }
    this.#options = resolveRedisOptions(connection);
    this.#expires = expires;
  }

  async store(meta: ResultMeta): Promise<void> {
    const scripts = await this.#commands();
    await scripts('storeResult', [this.#key(meta.task_id)], [toPythonJson(orderedMeta(meta)), this.#expires]);
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    await this.#commands();
    const raw = await this.#command!.get(this.#key(taskId));
    return raw === null ? null : (JSON.parse(raw) as ResultMeta);
  }

  async waitFor(taskId: string, options: WaitOptions): Promise<ResultMeta> {
    const channel = this.#key(taskId);
    const subscriber = await this.#subscriberConnection();
    if (!this.#waiters.isWatched(channel)) await subscriber.subscribe(channel);
    const pending = this.#waiters.wait(channel, taskId, options);
    // Stored before we subscribed? Read it once now.
    this.get(taskId).then((meta) => {
      if (meta && READY_STATES.has(meta.status)) pending.wake(meta);
    }, pending.fail);
    return pending.promise;
  }

  async close(): Promise<void> {
    const connections = [this.#subscriber, this.#command];
    this.#subscriber = undefined;
    this.#command = undefined;
    await Promise.allSettled(connections.map((c) => c?.quit()));
  }

  #key(taskId: string): string {
    return `${this.#options.keyPrefix}celery-task-meta-${taskId}`;
  }

  async #commands(): Promise<ScriptCaller> {
    if (!this.#command) {
      const command = openConnection(this.#options, 'results');
      command.on('error', () => {});
      this.#command = command;
      this.#scripts = loadScripts(command);
      await command.connect();
    }
    return this.#scripts!;
  }

  #subscriberConnection(): Promise<RedisConnection> {
    this.#subscribing ??= (async () => {
      const subscriber = openConnection(this.#options, 'results-sub');
      subscriber.on('error', () => {});
      subscriber.on('message', (channel: string, payload: string) => {
        if (!this.#waiters.isWatched(channel)) return;
        const meta = JSON.parse(payload) as ResultMeta;
        if (READY_STATES.has(meta.status)) this.#waiters.wake(channel, meta);
      });
      this.#subscriber = subscriber;
      await subscriber.connect();
      return subscriber;
    })();
    return this.#subscribing;
  }
}

/** Celery's key order: status, result, traceback, children, date_done, extended fields, task_id last. */
function orderedMeta(meta: ResultMeta): ResultMeta {
  const { status, result, traceback, children, date_done, task_id, ...extended } = meta;
  return { status, result, traceback, children, date_done, ...extended, task_id };
}
