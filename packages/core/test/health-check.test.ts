import { describe, expect, it } from 'vitest';
import { checkHealth } from '../src/transport-authors.js';

describe('checkHealth', () => {
  it('answers ok: false for a closed transport without calling the broker', async () => {
    let called = false;
    const status = await checkHealth(true, async () => {
      called = true;
    });
    expect(status).toEqual({ ok: false, latencyMs: 0, detail: 'transport is closed' });
    expect(called).toBe(false);
  });

  it('times a round trip that succeeds', async () => {
    const status = await checkHealth(false, () => Promise.resolve('PONG'));
    expect(status.ok).toBe(true);
    expect(status.latencyMs).toBeGreaterThanOrEqual(0);
    expect(status.detail).toBeUndefined();
  });

  it('turns a failed round trip into ok: false with its message, never a throw', async () => {
    const status = await checkHealth(false, () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')));
    expect(status).toMatchObject({ ok: false, detail: 'ECONNREFUSED 127.0.0.1:6379' });
  });
});
