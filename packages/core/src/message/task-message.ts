import type { JsonValue } from './json-value.js';

/** Celery's workflow embed: the third element of the body. Conveyor passes it through untouched. */
export interface TaskEmbed {
  callbacks: JsonValue[] | null;
  errbacks: JsonValue[] | null;
  chain: JsonValue[] | null;
  chord: JsonValue | null;
}

/**
 * One task invocation, decoded from Celery task protocol v2. Field names are camelCase here;
 * `encodeTaskMessage` writes Celery's header names.
 */
export interface TaskMessage {
  /** Task id (uuid4), header `id`. */
  id: string;
  /** Registered task name, header `task`. */
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: TaskEmbed | null;
  /** First task of the workflow; the task's own id when it has none. */
  rootId: string;
  parentId: string | null;
  group: string | null;
  groupIndex: number | null;
  /** How many times this task was retried before this message (0 for the first attempt). */
  retries: number;
  /** Do not run before this instant. */
  eta: Date | null;
  /** Revoke instead of running after this instant. */
  expires: Date | null;
  /** [hard, soft] in seconds, as Celery writes it (the order is hard first). */
  timeLimit: [number | null, number | null];
  argsrepr: string;
  kwargsrepr: string;
  origin: string;
  ignoreResult: boolean;
  shadow: string | null;
  /** Header names that are not Celery's, kept so nothing a producer sent is lost. */
  extraHeaders: Record<string, JsonValue>;
  correlationId: string;
  replyTo: string;
  /** Broker-neutral priority level (higher first), when the message carries one. */
  priority: number | undefined;
  contentType: string;
}
