// The rule of every test here and in the broker packages that needs what a machine may lack: a skip
// on a developer's machine, a failure under CI, where a silent skip would hide a broken set-up.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { isCi, skipOrFailInCi } from '../src/index.js';
import { warnOrFailInCi } from './redis.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('skipOrFailInCi', () => {
  it('fails under CI, naming what cannot run and why, and does not skip', () => {
    const skipped: string[] = [];
    for (const CI of ['true', '1', 'yes', ' TRUE ']) {
      expect(isCi({ CI })).toBe(true);
      expect(() =>
        skipOrFailInCi('the restart test', 'no rabbitmqctl', (n) => skipped.push(n), { CI }),
      ).toThrow(
        'the restart test cannot run: no rabbitmqctl (CI is set, so this fails instead of being skipped)',
      );
    }
    expect(skipped).toEqual([]);
  });

  it('skips without CI (unset, empty, 0 or false), with a note naming what and why', () => {
    const skipped: string[] = [];
    for (const env of [{}, { CI: '' }, { CI: '0' }, { CI: 'false' }, { CI: 'FALSE' }]) {
      expect(isCi(env)).toBe(false);
      skipOrFailInCi('x', 'y', (n) => skipped.push(n), env);
    }
    expect(skipped).toEqual(Array(5).fill('x skipped: y'));
  });
});

describe('warnOrFailInCi (the Redis-backed files of this folder)', () => {
  it('throws under CI', () => {
    expect(() => warnOrFailInCi('Redis envelope capture', 'PING failed', { CI: 'true' })).toThrow(
      'Redis envelope capture cannot run: PING failed (CI is set, so this fails instead of being skipped)',
    );
  });

  it('only warns without CI', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(() => warnOrFailInCi('Redis envelope capture', 'PING failed', {})).not.toThrow();
    expect(warn).toHaveBeenCalledWith('SKIPPED Redis envelope capture: PING failed');
  });
});
