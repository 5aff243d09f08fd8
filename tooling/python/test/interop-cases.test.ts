// Checks the shared interop catalogue itself, without a broker: the transport packages run the cases.

import { readFileSync } from 'node:fs';
import { MemoryResultBackend, MemoryTransport } from '@conveyor/core';
import { describe, expect, it } from 'vitest';
import { INTEROP_DIR } from '../src/index.js';
import {
  CELERY_INTEROP_CASES,
  describeCeleryInterop,
  interopAdd,
  interopEcho,
  interopFail,
} from '../src/vitest.js';

describe('Celery interop catalogue', () => {
  it('has unique ids and covers both directions', () => {
    const ids = CELERY_INTEROP_CASES.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(CELERY_INTEROP_CASES.map((c) => c.direction))).toEqual(
      new Set(['conveyor-to-celery', 'celery-to-conveyor']),
    );
  });

  it('mirrors only tasks that celery_app.py registers under the same names', () => {
    // A mirror whose name Python does not know would let a case pass on Conveyor alone.
    const python = readFileSync(`${INTEROP_DIR}/celery_app.py`, 'utf8');
    const registered = [...python.matchAll(/@app\.task\(name="([^"]+)"\)/g)].map((m) => m[1]);
    for (const task of [interopAdd, interopEcho, interopFail]) expect(registered).toContain(task.name);
  });

  it('refuses duplicate case ids when the suite is registered', () => {
    const [first] = CELERY_INTEROP_CASES;
    expect(() =>
      describeCeleryInterop({
        name: 'memory',
        createTransport: () => new MemoryTransport(),
        brokerUrl: 'memory://',
        resultBackendUrl: 'cache+memory://',
        createResultBackend: () => new MemoryResultBackend(),
        queuePrefix: 'never-run',
        cases: first === undefined ? [] : [first, first],
      }),
    ).toThrow(/appears twice/);
  });
});
