import { describe, expect, it } from 'vitest';
import { type AmqpRow, amqpSuiteMarkdown } from '../src/amqp-suite.js';
import type { CaseFigures } from '../src/measure-cases.js';
import { type RedisRow, redisSuiteMarkdown } from '../src/redis-suite.js';
import { type SqsRow, sqsSuiteMarkdown } from '../src/sqs-suite.js';
import type { Figure } from '../src/stats.js';

// Pins the tables both broker suites write to docs/benchmarks.md, from fixed figures: no broker,
// no timing. The prose around them is the suites' own and is not repeated here.

function runs(...values: number[]): Figure {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[sorted.length >> 1]!, runs: values };
}

/** A case measured in one run. */
function once(
  enqueue: number,
  process: number,
  nodeCpuUsPerJob: number,
  p50: number,
  p99: number,
): CaseFigures {
  return {
    enqueue: runs(enqueue),
    process: runs(process),
    nodeCpuUsPerJob,
    pickupP50: runs(p50),
    pickupP99: runs(p99),
  };
}

/** The headings and table lines of a section, without its prose. */
function tables(markdown: string): string[] {
  return markdown.split('\n').filter((line) => line.startsWith('### ') || line.startsWith('|'));
}

describe('Redis suite Markdown', () => {
  const row = (
    contender: RedisRow['contender'],
    name: string,
    concurrency: number,
    redisCpuUsPerJob: number,
    figures: CaseFigures,
  ): RedisRow => ({ contender, name, concurrency, redisCpuUsPerJob, ...figures });
  const rows: RedisRow[] = [
    row('conveyor', '@conveyor/redis', 1, 45.6, {
      enqueue: runs(9000, 10_000, 11_000),
      process: runs(4000, 5000, 4500),
      nodeCpuUsPerJob: 123.4,
      pickupP50: runs(1.5, 1.25, 1),
      pickupP99: runs(3, 2.5, 4),
    }),
    row('raw', 'raw loop', 1, 20, once(40_000, 9000, 50, 0.5, 1.5)),
    row('bullmq', 'BullMQ', 1, 30, once(5000, 3000, 200, 2.5, 6)),
    // No raw row at 50: its ratio cells stay empty.
    row('conveyor', '@conveyor/redis', 50, 10.49, once(30_000, 12_000, 80.5, 1, 2)),
    row('bullmq', 'BullMQ', 50, 25, once(15_000, 8000, 150, 2, 5)),
  ];
  const target = { host: '127.0.0.1', port: 6379, db: 14 };

  it('renders process, enqueue and pickup tables with ratios to BullMQ and the raw loop', () => {
    const markdown = redisSuiteMarkdown(
      { rows, redisVersion: '7.2.4' },
      { tasks: 20_000, runs: 3, samples: 200, target },
      'pnpm bench',
    );
    expect(tables(markdown)).toEqual([
      '### Process: draining N queued jobs',
      '| contender | concurrency | jobs/s (median) | vs BullMQ | vs raw loop | Node CPU µs/job | Redis CPU µs/job | runs |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      '| @conveyor/redis | 1 | 4,500 | 1.50× | 0.50× | 123 | 46 | 4,000, 5,000, 4,500 |',
      '| raw loop | 1 | 9,000 | 3.00× | 1.00× | 50 | 20 | 9,000 |',
      '| BullMQ | 1 | 3,000 | 1.00× | 0.33× | 200 | 30 | 3,000 |',
      '| @conveyor/redis | 50 | 12,000 | 1.50× |  | 81 | 10 | 12,000 |',
      '| BullMQ | 50 | 8,000 | 1.00× |  | 150 | 25 | 8,000 |',
      '### Enqueue: bulk add in batches of 500',
      '| contender | batches in flight | jobs/s (median) | vs BullMQ | vs raw loop | runs |',
      '| --- | ---: | ---: | ---: | ---: | --- |',
      '| @conveyor/redis | 1 | 10,000 | 2.00× | 0.25× | 9,000, 10,000, 11,000 |',
      '| raw loop | 1 | 40,000 | 8.00× | 1.00× | 40,000 |',
      '| BullMQ | 1 | 5,000 | 1.00× | 0.13× | 5,000 |',
      '| @conveyor/redis | 40 | 30,000 | 2.00× |  | 30,000 |',
      '| BullMQ | 40 | 15,000 | 1.00× |  | 15,000 |',
      '### Idle pickup latency: send to handler start (ms, lower is better)',
      '| contender | concurrency | p50 | p50 vs BullMQ | p50 vs raw loop | p99 | p99 vs BullMQ | p99 vs raw loop | runs (p50 / p99) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      '| @conveyor/redis | 1 | 1.25 | 0.50× | 2.50× | 3.00 | 0.50× | 2.00× | 1.50, 1.25, 1.00 / 3.00, 2.50, 4.00 |',
      '| raw loop | 1 | 0.50 | 0.20× | 1.00× | 1.50 | 0.25× | 1.00× | 0.50 / 1.50 |',
      '| BullMQ | 1 | 2.50 | 1.00× | 5.00× | 6.00 | 1.00× | 4.00× | 2.50 / 6.00 |',
      '| @conveyor/redis | 50 | 1.00 | 0.50× |  | 2.00 | 0.40× |  | 1.00 / 2.00 |',
      '| BullMQ | 50 | 2.00 | 1.00× |  | 5.00 | 1.00× |  | 2.00 / 5.00 |',
    ]);
  });
});

describe('AMQP suite Markdown', () => {
  const row = (
    contender: AmqpRow['contender'],
    name: string,
    prefetch: number,
    figures: CaseFigures,
  ): AmqpRow => ({
    contender,
    name,
    prefetch,
    ...figures,
  });
  const rows: AmqpRow[] = [
    // No anchor at prefetch 1: its ratio cells stay empty.
    row('conveyor', '@conveyor/amqp', 1, once(2000, 1000, 99.5, 0.8, 1.6)),
    row('conveyor', '@conveyor/amqp', 100, once(12_000, 4800, 60, 1.2, 2.4)),
    row('raw', 'raw amqplib', 100, once(16_000, 8000, 40, 0.6, 1.2)),
    row('raw-celery-format', 'raw amqplib, Celery format', 100, once(10_000, 6000, 45, 0.9, 1.8)),
    row('celery-node', 'celery-node', 100, once(4000, 9600, 30, 2.4, 4.8)),
  ];

  it('renders process, enqueue and pickup tables with ratios to raw amqplib and celery-node', () => {
    const markdown = amqpSuiteMarkdown(
      { rows, rabbitmqVersion: '3.13.1' },
      { tasks: 20_000, runs: 1, samples: 200, url: 'amqp://guest:secret@127.0.0.1:5672' },
      'pnpm bench --suite amqp',
    );
    expect(tables(markdown)).toEqual([
      '### Process: draining N queued persistent messages',
      '| contender | prefetch | msgs/s (median) | vs raw amqplib | vs celery-node | Node CPU µs/msg | runs |',
      '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
      '| @conveyor/amqp | 1 | 1,000 |  |  | 100 | 1,000 |',
      '| @conveyor/amqp | 100 | 4,800 | 0.60× | 0.50× | 60 | 4,800 |',
      '| raw amqplib | 100 | 8,000 | 1.00× | 0.83× | 40 | 8,000 |',
      '| raw amqplib, Celery format | 100 | 6,000 | 0.75× | 0.63× | 45 | 6,000 |',
      '| celery-node | 100 | 9,600 | 1.20× | 1.00× | 30 | 9,600 |',
      '### Enqueue: confirmed bulk publish in batches of 500',
      '| contender | batches in flight | msgs/s (median) | vs raw amqplib | vs celery-node | runs |',
      '| --- | ---: | ---: | ---: | ---: | --- |',
      '| @conveyor/amqp | 1 | 2,000 |  |  | 2,000 |',
      '| @conveyor/amqp | 40 | 12,000 | 0.75× | 3.00× | 12,000 |',
      '| raw amqplib | 40 | 16,000 | 1.00× | 4.00× | 16,000 |',
      '| raw amqplib, Celery format | 40 | 10,000 | 0.63× | 2.50× | 10,000 |',
      '| celery-node | all (no confirms) | 4,000 | 0.25× | 1.00× | 4,000 |',
      '### Idle pickup latency: send to handler start (ms, lower is better)',
      '| contender | prefetch | p50 | p50 vs raw amqplib | p50 vs celery-node | p99 | p99 vs raw amqplib | p99 vs celery-node | runs (p50 / p99) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      '| @conveyor/amqp | 1 | 0.80 |  |  | 1.60 |  |  | 0.80 / 1.60 |',
      '| @conveyor/amqp | 100 | 1.20 | 2.00× | 0.50× | 2.40 | 2.00× | 0.50× | 1.20 / 2.40 |',
      '| raw amqplib | 100 | 0.60 | 1.00× | 0.25× | 1.20 | 1.00× | 0.25× | 0.60 / 1.20 |',
      '| raw amqplib, Celery format | 100 | 0.90 | 1.50× | 0.38× | 1.80 | 1.50× | 0.38× | 0.90 / 1.80 |',
      '| celery-node | 100 | 2.40 | 4.00× | 1.00× | 4.80 | 4.00× | 1.00× | 2.40 / 4.80 |',
    ]);
    expect(markdown).toContain('at amqp://guest:***@127.0.0.1:5672 (same machine)');
    expect(markdown).toContain('the raw loop moves 0.75× as many Celery-format messages as bare');
    expect(markdown).toContain('@conveyor/amqp does 0.80× of the raw loop at that same wire format');
  });

  it('leaves the wire-format paragraph out without the three rows it compares', () => {
    const markdown = amqpSuiteMarkdown(
      { rows: rows.filter((r) => r.contender !== 'raw-celery-format'), rabbitmqVersion: '3.13.1' },
      { tasks: 20_000, runs: 1, samples: 200, url: 'amqp://127.0.0.1' },
      'pnpm bench --suite amqp',
    );
    expect(markdown).not.toContain('Wire format:');
  });
});

describe('SQS suite Markdown', () => {
  const row = (
    contender: SqsRow['contender'],
    name: string,
    concurrency: number,
    figures: CaseFigures,
  ): SqsRow => ({ contender, name, concurrency, ...figures });
  const rows: SqsRow[] = [
    row('conveyor', '@conveyor/sqs', 1, once(4000, 400, 1250, 1.6, 9.6)),
    row('raw', 'raw loop', 1, once(3600, 2700, 170, 1.5, 4.7)),
    row('conveyor', '@conveyor/sqs', 50, once(10_000, 6000, 160, 1.6, 4.6)),
    row('raw', 'raw loop', 50, once(10_000, 7500, 130, 1.8, 12.5)),
    row('sqs-consumer-batch', 'sqs-consumer batch', 50, once(11_000, 5000, 120, 1.5, 5.2)),
  ];

  it('renders requests in flight, ratios to the raw loop and sqs-consumer, and the target line', () => {
    const markdown = sqsSuiteMarkdown(
      { rows },
      { tasks: 5000, runs: 1, samples: 100, endpoint: 'http://127.0.0.1:9324' },
      'node apps/bench/dist/main.js --suite sqs',
    );
    const lines = tables(markdown);
    expect(lines.slice(0, 3)).toEqual([
      '### Process: draining N queued messages',
      '| contender | concurrency | msgs/s (median) | vs raw loop | vs sqs-consumer batch | Node CPU µs/msg | runs |',
      '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ]);
    expect(lines).toContain('| @conveyor/sqs | 50 | 6,000 | 0.80× | 1.20× | 160 | 6,000 |');
    expect(lines).toContain('| @conveyor/sqs | 1 | 400 | 0.15× |  | 1250 | 400 |');
    expect(lines).toContain(
      '| contender | requests in flight | msgs/s (median) | vs raw loop | vs sqs-consumer batch | runs |',
    );
    expect(lines).toContain('| raw loop | 50 | 10,000 | 1.00× | 0.91× | 10,000 |');
    expect(markdown).toContain(
      "at concurrency 1 @conveyor/sqs drains 0.15× of the raw loop's rate; at concurrency 50 @conveyor/sqs drains 0.80× of the raw loop's rate and 1.20× of sqs-consumer's (handleMessageBatch).",
    );
  });
});
