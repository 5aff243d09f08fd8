import {
  InvalidOptionError,
  READY_STATES,
  type ResultBackend,
  type ResultMeta,
  ResultWaiters,
  type WaitOptions,
} from '@conveyor/core';
import { connectFailure, openConnection, type RedisConnection } from './connection.js';
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
  #commandConnecting: Promise<ScriptCaller> | undefined;
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
    // A later store or get connects again, as before.
    this.#commandConnecting = undefined;
    await Promise.allSettled(connections.map((c) => c?.quit()));
  }

  #key(taskId: string): string {
    return `${this.#options.keyPrefix}celery-task-meta-${taskId}`;
  }

  #commands(): Promise<ScriptCaller> {
    this.#commandConnecting ??= (async () => {
      const command = openConnection(this.#options, 'results');
      command.on('error', () => {});
      this.#command = command;
      const scripts = loadScripts(command);
      await this.#connect(command);
      return scripts;
    })();
    const connecting = this.#commandConnecting;
    return retriedAfterFailure(connecting, () => {
      if (this.#commandConnecting === connecting) this.#commandConnecting = undefined;
    });
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
      await this.#connect(subscriber);
      return subscriber;
    })();
    const subscribing = this.#subscribing;
    return retriedAfterFailure(subscribing, () => {
      if (this.#subscribing === subscribing) this.#subscribing = undefined;
    });
  }

  /**
   * Connects within `connectTimeoutMs`, a failure typed as RedisTransport's are: ioredis rejects
   * with "Connection is closed." whatever the reason, so refused credentials become
   * BrokerAuthenticationError (never with the password) and the connection is dropped, not left
   * retrying with credentials that will not work.
   */
  async #connect(connection: RedisConnection): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limitMs = this.#options.connectTimeoutMs;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connect timed out after ${limitMs} ms`)), limitMs);
    });
    try {
      await Promise.race([connection.connect(), timedOut]);
    } catch (error) {
      connection.disconnect();
      throw connectFailure(this.#options, connection, error, 'redis');
    } finally {
      clearTimeout(timer);
    }
  }
}

/** `connecting`, after which `forget` runs if it failed, so that the next call connects anew. */
function retriedAfterFailure<T>(connecting: Promise<T>, forget: () => void): Promise<T> {
  return connecting.catch((error: unknown) => {
    forget();
    throw error;
  });
}

/** Celery's key order: status, result, traceback, children, date_done, extended fields, task_id last. */
function orderedMeta(meta: ResultMeta): ResultMeta {
  const { status, result, traceback, children, date_done, task_id, ...extended } = meta;
  return { status, result, traceback, children, date_done, ...extended, task_id };
}
