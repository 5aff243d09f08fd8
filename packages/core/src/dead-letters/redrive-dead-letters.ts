import { InvalidOptionError } from '../errors/transport-errors.js';
import type { Delivery } from '../transport/delivery.js';
import type { PublishOptions, Transport } from '../transport/transport.js';
import type { DeadLetter } from './dead-letter.js';
import { type DeadLetterFilter, matchesDeadLetterFilter } from './dead-letter-filter.js';
import { type DeadLetterPassOptions, deadLetterQueueOf, passOverDeadLetters } from './dead-letter-pass.js';
import type { DeadLetterProgress } from './dead-letter-progress.js';
import { redriveCopy } from './redrive-copy.js';

/** Options of redriveDeadLetters. */
export interface RedriveDeadLettersOptions extends DeadLetterPassOptions {
  /** Only matching letters move; the others are given back untouched. */
  filter?: DeadLetterFilter;
  /**
   * Where the copies go. Default: each letter's source queue (x-conveyor-dead-letter-source), or
   * `queue` for a letter that does not name one (moved by the broker itself).
   */
  to?: string;
  /**
   * Also re-publish raw letters (payloads that never decoded, or messages that are not tasks),
   * unchanged. Off by default: such a letter is garbage that a worker dead-letters again.
   */
  includeRaw?: boolean;
  /** Move nothing: report what would move (every letter is read and given back). */
  dryRun?: boolean;
  onProgress?: (progress: DeadLetterProgress) => void;
}

/** What became of one matching letter. */
export interface RedriveOutcome {
  key: string;
  index: number;
  task: string | null;
  reason: string | null;
  /** The queue the copy went to (or would go to); null when the letter was skipped. */
  to: string | null;
  /**
   * `moved`: copied (the publish resolved) and then removed. `would-move`: a dry run. `skipped`:
   * not redrivable (raw without includeRaw, or truncated), left in place. `failed`: left in place
   * because the copy could not be published, or (see `detail`) copied but not removed.
   */
  outcome: 'moved' | 'would-move' | 'skipped' | 'failed';
  /** Why it was skipped or failed. */
  detail?: string;
}

/** The counts of a redrive, and each matching letter's outcome. */
export interface RedriveReport {
  deadLetterQueue: string;
  /** Letters the queue reported waiting when the redrive began. */
  waiting: number;
  /** Letters read. */
  seen: number;
  moved: number;
  wouldMove: number;
  skipped: number;
  failed: number;
  /** Letters read that did not match the filter (given back). */
  unmatched: number;
  dryRun: boolean;
  outcomes: RedriveOutcome[];
}

/**
 * Moves dead letters back to work, at least once: for each matching letter a copy is published to
 * its source queue (or `to`) and the letter is acked only after that publish resolved, which every
 * transport resolves once the broker has the message. A crash in between leaves both, never
 * neither. The copy keeps the task id and every task header, drops the dead-letter headers and
 * starts at delivery 1 (see redriveCopy). A publish that fails leaves the letter in the dead-letter
 * queue (given back) and counts as failed; the redrive goes on with the next letter.
 */
export async function redriveDeadLetters(
  transport: Transport,
  options: RedriveDeadLettersOptions,
): Promise<RedriveReport> {
  if (options.to !== undefined && (typeof options.to !== 'string' || options.to === '')) {
    throw new InvalidOptionError('to', 'must be a non-empty queue name');
  }
  const dryRun = options.dryRun === true;
  const report: RedriveReport = {
    deadLetterQueue: '',
    waiting: 0,
    seen: 0,
    moved: 0,
    wouldMove: 0,
    skipped: 0,
    failed: 0,
    unmatched: 0,
    dryRun,
    outcomes: [],
  };
  const dlq = deadLetterQueueOf(options);
  const declared = new Map<string, Promise<void>>();
  const declare = (queue: string): Promise<void> => {
    let done = declared.get(queue);
    if (!done) {
      done = transport.declareQueue({ name: queue });
      declared.set(queue, done);
    }
    return done;
  };

  const summary = await passOverDeadLetters(transport, options, async (letter, delivery, pass) => {
    const verdict = await redriveOne(letter, delivery);
    options.onProgress?.({
      operation: 'redrive',
      seen: pass.seen,
      waiting: pass.waiting,
      counts: {
        moved: dryRun ? report.wouldMove : report.moved,
        skipped: report.skipped,
        failed: report.failed,
        unmatched: report.unmatched,
      },
    });
    return verdict;
  });
  report.deadLetterQueue = summary.deadLetterQueue;
  report.waiting = summary.waiting;
  report.seen = summary.seen;
  report.outcomes.sort((a, b) => a.index - b.index);
  return report;

  async function redriveOne(letter: DeadLetter, delivery: Delivery): Promise<'settled' | 'give-back'> {
    if (options.filter && !matchesDeadLetterFilter(letter, options.filter)) {
      report.unmatched++;
      return 'give-back';
    }
    const base = { key: letter.key, index: letter.index, task: letter.task, reason: letter.reason };
    const unfit = whyNotRedrivable(letter, options.includeRaw === true);
    if (unfit !== null) {
      report.skipped++;
      report.outcomes.push({ ...base, to: null, outcome: 'skipped', detail: unfit });
      return 'give-back';
    }
    const to = options.to ?? letter.sourceQueue ?? options.queue;
    if (to === dlq) {
      // A copy into the queue being read would come round again in this very pass.
      report.skipped++;
      report.outcomes.push({ ...base, to: null, outcome: 'skipped', detail: `its target is ${dlq} itself` });
      return 'give-back';
    }
    if (dryRun) {
      report.wouldMove++;
      report.outcomes.push({ ...base, to, outcome: 'would-move' });
      return 'give-back';
    }
    const original = letter.message ?? {
      headers: {},
      properties: { content_type: 'application/octet-stream', content_encoding: 'binary' },
      body: delivery.rawPayload?.() ?? new Uint8Array(0),
    };
    try {
      await declare(to);
      await transport.publish(
        to,
        redriveCopy(original),
        publishOptionsOf(transport, original.properties.priority),
      );
    } catch (error) {
      report.failed++;
      report.outcomes.push({ ...base, to, outcome: 'failed', detail: `not copied: ${describe(error)}` });
      return 'give-back';
    }
    try {
      await delivery.ack();
    } catch (error) {
      // The copy is in its queue and the letter is still here: at least once, not exactly once.
      report.failed++;
      report.outcomes.push({
        ...base,
        to,
        outcome: 'failed',
        detail: `copied, but the letter could not be removed and will be seen again: ${describe(error)}`,
      });
      return 'settled';
    }
    report.moved++;
    report.outcomes.push({ ...base, to, outcome: 'moved' });
    return 'settled';
  }
}

/** Why a matching letter is left in place, or null when it can move. */
function whyNotRedrivable(letter: DeadLetter, includeRaw: boolean): string | null {
  if (letter.kind === 'truncated') return 'its payload was truncated to fit the dead-letter queue';
  if (letter.kind === 'raw' && !includeRaw)
    return 'raw letter (not a task message); redrive it with includeRaw';
  return null;
}

/** The copy keeps its priority where the transport has levels (clamped to them). */
function publishOptionsOf(transport: Transport, priority: number | undefined): PublishOptions | undefined {
  const levels = transport.capabilities.priorityLevels;
  if (priority === undefined || levels <= 0 || !Number.isInteger(priority)) return undefined;
  return { priority: Math.max(0, Math.min(levels - 1, priority)) };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
