// The rule the Redis-backed files of this folder follow: no Redis is a skip on a developer's machine
// and a failure under CI, where a silent skip would hide a broken set-up.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { isCi, skipOrFailInCi } from './redis.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('skipOrFailInCi', () => {
  it('throws under CI, naming what cannot run and why', () => {
    expect(() => skipOrFailInCi('Redis envelope capture', 'PING failed', { CI: 'true' })).toThrow(
      'Redis envelope capture cannot run: PING failed (CI is set, so this fails instead of being skipped)',
    );
    expect(() => skipOrFailInCi('x', 'y', { CI: '1' })).toThrow(/CI is set/);
  });

  it('only warns without CI (unset, empty, 0 or false)', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    for (const env of [{}, { CI: '' }, { CI: '0' }, { CI: 'false' }, { CI: 'FALSE' }]) {
      expect(isCi(env)).toBe(false);
      expect(() => skipOrFailInCi('Redis envelope capture', 'PING failed', env)).not.toThrow();
    }
    expect(warn).toHaveBeenCalledWith('SKIPPED Redis envelope capture: PING failed');
  });
});
