// What a broker package's Celery interop test file checks before it registers the suite: the broker
// answers, the Redis of Celery's results answers, and the Python venv with Celery is there. Without
// one of them the file is skipped with the reason on a developer's machine and fails under CI.
// (describeCeleryInterop alone would fail every case instead, which on a machine without, say,
// ElasticMQ says less than one skip naming what is missing.)
import { describe, it } from 'vitest';
import { ensurePythonCelery } from './celery.js';
import { CeleryRedisResults } from './celery-redis-results.js';
import { skipOrFailInCi } from './ci.js';

/** Any task id: the probe only needs GET to answer, found or not. */
const PROBE_TASK_ID = '00000000-0000-4000-8000-000000000000';
/** Enough of a failed pip install or Python traceback to act on, short enough for a skip note. */
const PYTHON_REASON_CHARS = 500;

/** The things the interop suite needs besides the shared Python harness. */
export interface InteropPrerequisites {
  /** The broker as the reason names it, with how to start it, e.g.
   *  `Kafka at 127.0.0.1:9092 (bash tooling/brokers/brokers.sh up kafka)`. */
  broker: string;
  /** Resolves once the broker answers; rejects (with the broker's error) when it does not. */
  probeBroker(): Promise<void>;
  /** The `redis://` URL of Celery's result backend, when the suite's results go to Redis. */
  redisResultsUrl?: string;
}

/**
 * Why the Celery interop suite cannot run here (broker, Redis results or Python Celery missing), or
 * null when it can. Checked in that order; the first missing thing is the reason.
 */
export async function missingInteropPrerequisites(needs: InteropPrerequisites): Promise<string | null> {
  try {
    await needs.probeBroker();
  } catch (error) {
    return `no ${needs.broker}: ${messageOf(error)}`;
  }
  if (needs.redisResultsUrl !== undefined) {
    const results = new CeleryRedisResults(needs.redisResultsUrl);
    try {
      await results.get(PROBE_TASK_ID);
    } catch (error) {
      return `no Redis at ${needs.redisResultsUrl} for the results: ${messageOf(error)}`;
    } finally {
      await results.close();
    }
  }
  try {
    await ensurePythonCelery();
  } catch (error) {
    return `no Python Celery: ${messageOf(error).replace(/\s+/g, ' ').slice(0, PYTHON_REASON_CHARS)}`;
  }
  return null;
}

/**
 * Registers, in place of the suite over `name`, one skipped test whose title says why (`reason`,
 * from missingInteropPrerequisites); under CI throws instead, which fails the test file.
 */
export function skipCeleryInterop(name: string, reason: string): void {
  const what = `Celery interop over ${name}`;
  skipOrFailInCi(what, reason, (note) => {
    describe.skip(what, () => {
      it(note, () => {});
    });
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
