// missingInteropPrerequisites, the probe the broker packages' interop test files run before the
// suite: the reason names the first thing missing (broker, Redis results, Python), and null means the
// suite can run. Needs Redis and the Python venv for the "nothing missing" case; skipped without
// Redis, failed instead when CI is set.

import { describe, expect, it } from 'vitest';
import { missingInteropPrerequisites } from '../src/interop-prerequisites.js';
import { redisOrSkip } from './redis.js';

const redis = await redisOrSkip('missingInteropPrerequisites');
const resultsUrl = `${redis.ok ? redis.url : ''}/1`;

describe('missingInteropPrerequisites', () => {
  it('names the broker that does not answer, with its error, before checking anything else', async () => {
    let redisChecked = false;
    const reason = await missingInteropPrerequisites({
      broker: 'Kafka at 127.0.0.1:1 (bash tooling/brokers/brokers.sh up kafka)',
      probeBroker: async () => {
        throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1');
      },
      get redisResultsUrl() {
        redisChecked = true;
        return 'redis://127.0.0.1:1/0';
      },
    });
    expect(reason).toBe(
      'no Kafka at 127.0.0.1:1 (bash tooling/brokers/brokers.sh up kafka): Connection error: connect ECONNREFUSED 127.0.0.1:1',
    );
    expect(redisChecked).toBe(false);
  });

  it('names the Redis of the results when it does not answer', async () => {
    const reason = await missingInteropPrerequisites({
      broker: 'SQS',
      probeBroker: async () => {},
      redisResultsUrl: 'redis://127.0.0.1:1/2',
    });
    expect(reason).toMatch(/^no Redis at redis:\/\/127\.0\.0\.1:1\/2 for the results: .*ECONNREFUSED/);
  });

  it.skipIf(!redis.ok)(
    'answers null when broker, Redis and Python Celery are all there',
    async () => {
      const reason = await missingInteropPrerequisites({
        broker: 'SQS',
        probeBroker: async () => {},
        redisResultsUrl: resultsUrl,
      });
      expect(reason).toBeNull();
    },
    600_000,
  );
});
