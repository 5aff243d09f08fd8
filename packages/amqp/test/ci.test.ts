import { isCi, skipOrFailInCi } from '@conveyor/python-interop';
import { describe, expect, it } from 'vitest';

describe('skip or fail when a test cannot run', () => {
  it('fails under CI, naming what cannot run and why', () => {
    const skipped: string[] = [];
    for (const CI of ['true', '1', 'yes']) {
      expect(() =>
        skipOrFailInCi('the restart test', 'no rabbitmqctl', (n) => skipped.push(n), { CI }),
      ).toThrow(
        'the restart test cannot run: no rabbitmqctl (CI is set, so this fails instead of being skipped)',
      );
    }
    expect(skipped).toEqual([]);
  });

  it('skips without CI (unset, empty, 0 or false)', () => {
    const skipped: string[] = [];
    for (const env of [{}, { CI: '' }, { CI: '0' }, { CI: 'false' }, { CI: 'FALSE' }]) {
      expect(isCi(env)).toBe(false);
      skipOrFailInCi('x', 'y', (n) => skipped.push(n), env);
    }
    expect(skipped).toEqual(Array(5).fill('x skipped: y'));
  });
});
