import type { HealthStatus } from './transport.js';

const CLOSED: HealthStatus = Object.freeze({ ok: false, latencyMs: 0, detail: 'transport is closed' });

/**
 * The health check of every transport: `closed` answers at once, otherwise `roundTrip` (a real
 * call to the broker: PING, a passive declare) is timed, and its failure becomes `ok: false` with
 * the error's message as the detail, never a throw.
 */
export async function checkHealth(closed: boolean, roundTrip: () => Promise<unknown>): Promise<HealthStatus> {
  if (closed) return CLOSED;
  const started = performance.now();
  try {
    await roundTrip();
    return { ok: true, latencyMs: performance.now() - started };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, latencyMs: performance.now() - started, detail };
  }
}
