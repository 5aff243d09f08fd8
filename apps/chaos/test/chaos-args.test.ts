import { InvalidOptionError } from '@conveyor/core';
import { describe, expect, it } from 'vitest';
import { BROKER_NAMES } from '../src/broker-profiles.js';
import { LONG_TASKS, parseChaosArgs } from '../src/chaos-args.js';

describe('parseChaosArgs', () => {
  it('takes the defaults: 10,000 tasks, 3 workers of concurrency 4, the default document', () => {
    const args = parseChaosArgs(['--broker', 'redis', '--seed', '5'], 'doc.md');
    expect(args).toEqual({
      brokers: ['redis'],
      tasks: 10_000,
      workers: 3,
      concurrency: 4,
      seed: 5,
      doc: 'doc.md',
    });
  });

  it('runs every broker with all, 100,000 tasks with --long, and writes no document with --no-doc', () => {
    const args = parseChaosArgs(['--', '--broker', 'all', '--long', '--no-doc'], 'doc.md');
    expect(args.brokers).toEqual(BROKER_NAMES);
    expect(args.tasks).toBe(LONG_TASKS);
    expect(args.doc).toBeUndefined();
  });

  it.each([
    [['--tasks', '10'], '--broker'],
    [['--broker', 'nats'], '--broker'],
    [['--broker', 'sqs', '--tasks', '0'], '--tasks'],
    [['--broker', 'sqs', '--workers', 'two'], '--workers'],
    [['--broker', 'sqs', '--seed=-1'], '--seed'],
    [['--broker', 'sqs', '--speed', '3'], '--speed'],
    [['--broker', 'sqs', '--long', '--tasks', '5'], '--long'],
  ])('rejects %j with an InvalidOptionError naming %s', (argv, option) => {
    let error: unknown;
    try {
      parseChaosArgs(argv, 'doc.md');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
  });
});
