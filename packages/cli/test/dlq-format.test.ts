import { describeDeadLetter } from '@conveyor/core';
import { describe, expect, it } from 'vitest';
import { formatLetters } from '../src/commands/dlq.js';
import { formatProgress, ProgressBar } from '../src/progress-bar.js';

describe('conveyor dlq output', () => {
  it('the progress bar fills with the letters read and shows every count', () => {
    const progress = {
      operation: 'redrive' as const,
      seen: 10,
      waiting: 40,
      counts: { moved: 8, failed: 2 },
    };
    expect(formatProgress('redrive', progress)).toBe(
      'redrive [######------------------] 10/40 moved 8 failed 2',
    );
    expect(formatProgress('purge', { ...progress, seen: 40 })).toMatch(/^purge \[#{24}\] 40\/40 /);
  });

  it('the bar redraws in place, at most every 100 ms, and ends its line with the last state', () => {
    const written: string[] = [];
    const bar = new ProgressBar({ write: (text: string) => written.push(text) }, 'list');
    for (let seen = 1; seen <= 50; seen++)
      bar.update({ operation: 'list', seen, waiting: 50, counts: { matched: seen } });
    bar.finish();
    const drawn = (seen: number): string =>
      `\r${formatProgress('list', { operation: 'list', seen, waiting: 50, counts: { matched: seen } })}\x1b[K`;
    // The first update draws; those within 100 ms of a draw do not (a synchronous loop of 50 is
    // far quicker than that, bar a pause of the whole machine); finish draws the last state.
    expect(written[0]).toBe(drawn(1));
    expect(written.length).toBeLessThan(50);
    expect(written.slice(-2)).toEqual([drawn(50), '\n']);
  });

  it('a bar never drawn writes nothing on finish', () => {
    const written: string[] = [];
    new ProgressBar({ write: (text: string) => written.push(text) }, 'list').finish();
    expect(written).toEqual([]);
  });

  it('list prints one aligned line per letter, unknown time and raw keys included', () => {
    const task = describeDeadLetter(
      {
        headers: {
          id: 'a1',
          task: 'emails.send',
          'x-conveyor-dead-letter-reason': 'TimeoutError:\n smtp',
          'x-conveyor-dead-lettered-at': '2026-12-01T10:00:00.000Z',
        },
        properties: { content_type: 'application/json', content_encoding: 'utf-8' },
        body: new Uint8Array([91, 93]),
      },
      null,
      2,
      1,
    );
    const raw = describeDeadLetter(
      {
        headers: { 'x-conveyor-dead-letter-reason': 'malformed' },
        properties: { content_type: 'application/octet-stream', content_encoding: 'binary' },
        body: new Uint8Array([0xff]),
      },
      null,
      1,
      2,
    );
    const lines = formatLetters([task, raw]);
    expect(lines[0]).toMatch(/^#\s+key\s+task\s+dead-lettered\s+deliveries\s+reason$/);
    expect(lines[1]).toMatch(/^1\s+a1\s+emails\.send\s+2026-12-01T10:00:00\.000Z\s+2\s+TimeoutError: smtp$/);
    expect(lines[2]).toMatch(/^2\s+raw:[0-9a-f]{12}\s+-\s+unknown\s+1\s+malformed$/);
    expect(lines[1]!.indexOf('emails.send')).toBe(lines[2]!.indexOf('-  '));
  });
});
