import { UnsupportedFeatureError } from '../errors/transport-errors.js';
import type { JsonValue } from '../message/json-value.js';
import { pythonValueRepr } from '../message/python-repr.js';
import type { Listener } from '../runtime/typed-emitter.js';
import type { WorkerEvents } from '../runtime/worker-events.js';
import type { BroadcastExchange, BroadcastMessage } from '../transport/broadcast.js';
import type { Transport } from '../transport/transport.js';
import { ControlTaskTracker, celeryRequestInfo } from './control-state.js';
import {
  type ControlRequest,
  decodeControlRequest,
  encodeControlReply,
  isAddressedTo,
  PIDBOX_EXCHANGE,
  replyExchange,
} from './pidbox.js';
import { RevokedIds, type RevokedIdsOptions } from './revoked-ids.js';

/** `Worker({ control })`: `true`, or these. */
export interface WorkerRemoteControlOptions {
  /** How many revoked ids are kept, and how long (Celery's `LimitedSet` bounds). */
  revokes?: RevokedIdsOptions;
  /** The mailbox exchange; default Celery's `celery.pidbox` (`control_exchange` = `celery`). */
  exchange?: BroadcastExchange;
}

/** What the remote control needs from a Worker. */
export interface ControlledWorker {
  readonly hostname: string;
  readonly transport: Transport;
  readonly concurrency: number;
  readonly queues: readonly string[];
  on<E extends keyof WorkerEvents>(event: E, listener: Listener<WorkerEvents[E]>): () => void;
  emit(event: 'error', payload: WorkerEvents['error']): void;
}

/**
 * Told the ids of each revoke that are not running here, so the worker can store REVOKED for them
 * at once, as Celery 5.7's `_revoke` marks them in the result backend.
 */
export type RevokeListener = (taskIds: readonly string[]) => void;

/** The commands answered; anything else gets kombu's error reply for an unknown method. */
export const CONTROL_COMMANDS = [
  'ping',
  'stats',
  'active',
  'reserved',
  'registered',
  'revoke',
  'revoked',
  'active_queues',
  'clock',
] as const;

/**
 * Celery's remote control for a Conveyor worker (`worker_enable_remote_control`, kombu's pidbox
 * `Node`): it listens on the `celery.pidbox` fanout exchange, runs the commands addressed to its
 * hostname (`destination`, or `pattern` with `matcher`) and, when the caller waits (`reply_to`),
 * replies `{hostname: reply}` on the caller's direct reply exchange with its `ticket`, so
 * `celery inspect ping|active|reserved|registered|stats|revoked|active_queues` and
 * `celery control revoke` reach it beside Python workers.
 *
 * `revoke` remembers the ids (RevokedIds): the worker acknowledges a revoked task without running
 * it, stores REVOKED and emits `revoked`, also when the task arrives after the revoke. `terminate`
 * is not supported: a handler already running is a promise (or a runner) that cannot be
 * interrupted safely, so it finishes; the reply says so.
 */
export class WorkerRemoteControl {
  readonly revoked: RevokedIds;
  readonly #worker: ControlledWorker;
  readonly #taskNames: readonly string[];
  readonly #exchange: BroadcastExchange;
  readonly #tracker = new ControlTaskTracker();
  readonly #startedAt = Date.now();
  #subscription: AbortController | undefined;
  #clock = 0;
  #onRevoke: RevokeListener | undefined;

  constructor(
    worker: ControlledWorker,
    taskNames: readonly string[],
    options: WorkerRemoteControlOptions | true = {},
    onRevoke?: RevokeListener,
  ) {
    const { transport } = worker;
    if (!transport.capabilities.broadcast || transport.broadcast === undefined) {
      throw new UnsupportedFeatureError(
        'broadcast',
        "the control option needs a transport that can fan messages out (Celery's remote control needs it too)",
        { transport: transport.name },
      );
    }
    const resolved = options === true ? {} : options;
    this.revoked = new RevokedIds(resolved.revokes);
    this.#exchange = resolved.exchange ?? PIDBOX_EXCHANGE;
    this.#worker = worker;
    this.#taskNames = [...taskNames].sort();
    this.#onRevoke = onRevoke;
  }

  /** Starts tracking tasks and listening; resolves once the mailbox is subscribed. */
  async start(): Promise<void> {
    const broadcast = this.#worker.transport.broadcast!;
    this.#tracker.attach(this.#worker);
    this.#subscription = new AbortController();
    await broadcast.subscribe(this.#exchange, '', (message) => this.#onMessage(message), {
      signal: this.#subscription.signal,
      onError: (error) => this.#worker.emit('error', { error }),
    });
  }

  /** Stops listening (a stopped worker answers nothing, as a Python one that is gone). */
  stop(): void {
    this.#subscription?.abort();
    this.#subscription = undefined;
    this.#tracker.detach();
  }

  /** Runs one command as if it had arrived; what the caller gets under this worker's hostname. */
  dispatch(method: string, args: Record<string, JsonValue> = {}): JsonValue {
    const worker = this.#worker;
    switch (method) {
      case 'ping':
        return { ok: 'pong' };
      case 'clock':
        return { clock: this.#clock };
      case 'registered':
        return [...this.#taskNames];
      case 'active':
        return [...this.#tracker.active.values()].map((t) => celeryRequestInfo(t, worker.hostname));
      case 'reserved':
        return [...this.#tracker.reserved.values()].map((t) => celeryRequestInfo(t, worker.hostname));
      case 'revoked':
        return this.revoked.ids();
      case 'active_queues':
        return worker.queues.map((name) => ({
          name,
          exchange: { name, type: 'direct' },
          routing_key: name,
          durable: true,
          exclusive: false,
          auto_delete: false,
          no_ack: false,
        }));
      case 'stats':
        return this.#stats();
      case 'revoke':
        return this.#revoke(args);
      default:
        // kombu's Node.dispatch answers a missing handler with the repr of its KeyError.
        return { error: `KeyError(${pythonValueRepr(method)})` };
    }
  }

  #revoke(args: Record<string, JsonValue>): JsonValue {
    const raw = args.task_id;
    const ids = (Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw]).map(String);
    for (const id of ids) this.revoked.add(id);
    const notRunning = ids.filter((id) => !this.#tracker.active.has(id));
    if (notRunning.length > 0) this.#onRevoke?.(notRunning);
    const set = `{${ids.map((id) => pythonValueRepr(id)).join(', ')}}`;
    if (args.terminate === true) {
      const running = ids.filter((id) => this.#tracker.active.has(id));
      if (running.length > 0) {
        return {
          ok: `tasks ${set} flagged as revoked; terminate is not supported by Conveyor workers: ${running.join(', ')} keep running`,
        };
      }
    }
    return { ok: `tasks ${set} flagged as revoked` };
  }

  #stats(): JsonValue {
    const worker = this.#worker;
    const usage = process.resourceUsage();
    return {
      total: Object.fromEntries(this.#tracker.total),
      pid: process.pid,
      clock: String(this.#clock),
      uptime: Math.floor((Date.now() - this.#startedAt) / 1000),
      pool: {
        'max-concurrency': worker.concurrency,
        implementation: 'conveyor:event-loop',
        processes: [process.pid],
      },
      broker: { transport: worker.transport.name },
      prefetch_count: worker.concurrency,
      rusage: {
        utime: usage.userCPUTime / 1e6,
        stime: usage.systemCPUTime / 1e6,
        maxrss: usage.maxRSS,
        minflt: usage.minorPageFault,
        majflt: usage.majorPageFault,
        nvcsw: usage.voluntaryContextSwitches,
        nivcsw: usage.involuntaryContextSwitches,
      },
      sw_ident: 'conveyor',
      active: this.#tracker.active.size,
    };
  }

  #onMessage({ message }: BroadcastMessage): void {
    let request: ControlRequest;
    try {
      request = decodeControlRequest(message);
    } catch (error) {
      this.#worker.emit('error', { error });
      return;
    }
    const clock = Number(message.headers.clock);
    if (Number.isFinite(clock)) this.#clock = Math.max(this.#clock, clock);
    this.#clock += 1;
    if (!isAddressedTo(request, this.#worker.hostname)) return;
    let reply: JsonValue;
    try {
      reply = this.dispatch(request.method, request.arguments);
    } catch (error) {
      reply = {
        error: error instanceof Error ? `${error.name}(${pythonValueRepr(error.message)})` : String(error),
      };
    }
    if (request.replyTo === null || request.ticket === null) return;
    this.#clock += 1;
    const { exchange, routingKey } = request.replyTo;
    void this.#worker.transport
      .broadcast!.publish(
        replyExchange(exchange),
        routingKey,
        encodeControlReply(this.#worker.hostname, reply, request.ticket, this.#clock),
      )
      .catch((error: unknown) => this.#worker.emit('error', { error }));
  }
}
