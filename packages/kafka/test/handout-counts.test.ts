import { describe, expect, it } from 'vitest';
import { HandoutCounts } from '../src/index.js';

describe('HandoutCounts', () => {
  it('counts hand-outs per offset and stores them as runs', () => {
    const counts = new HandoutCounts();
    for (const offset of [5, 6, 7, 8]) counts.add(offset);
    counts.add(7);
    expect([4, 5, 6, 7, 8, 9].map((o) => counts.countOf(o))).toEqual([0, 1, 1, 2, 1, 0]);
    expect(counts.serialize()).toBe('5-6:1,7:2,8:1');
  });

  it('round-trips through serialize/parse and ignores what it cannot read', () => {
    const counts = new HandoutCounts();
    for (const offset of [10, 11, 12, 20]) counts.add(offset);
    counts.add(20);
    const again = HandoutCounts.parse(counts.serialize());
    expect(again.serialize()).toBe('10-12:1,20:2');
    expect(HandoutCounts.parse('garbage,3:1').serialize()).toBe('3:1');
    expect(HandoutCounts.parse(null).countOf(0)).toBe(0);
  });

  it('forgets committed offsets and counts what is out between two offsets', () => {
    const counts = HandoutCounts.parse('0-9:1,10-14:2');
    counts.dropBelow(8);
    expect(counts.serialize()).toBe('8-9:1,10-14:2');
    expect(counts.handedOutBetween(8, 12)).toBe(4);
    expect(counts.handedOutBetween(0, 100)).toBe(7);
    expect(counts.handedOutBetween(15, 20)).toBe(0);
  });

  it('remembers settled offsets above a gap (d), which are not out any more', () => {
    const counts = HandoutCounts.parse('0-2:1');
    counts.markDone(1);
    counts.markDone(2);
    expect(counts.serialize()).toBe('0:1,1-2:d');
    expect(HandoutCounts.parse(counts.serialize()).isDone(2)).toBe(true);
    expect(counts.isDone(0)).toBe(false);
    expect(counts.handedOutBetween(0, 3)).toBe(1);
    expect(counts.doneBetween(0, 3)).toBe(2);
  });

  it('stays under a size bound by dropping the lowest runs', () => {
    const counts = new HandoutCounts();
    for (let offset = 0; offset < 2000; offset += 2) counts.add(offset);
    expect(counts.serialize().length).toBeGreaterThan(4000);
    counts.trimTo(4000);
    expect(counts.serialize().length).toBeLessThanOrEqual(4000);
    expect(counts.countOf(1998)).toBe(1);
    expect(counts.countOf(0)).toBe(0);
  });
});
