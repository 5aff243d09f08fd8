/**
 * Runs `stop` when `signal` aborts, or at once when it already has. A consumer registers its stop
 * only after the broker set it up, and the signal may abort in between (the Worker pauses
 * consumption the moment a redelivered message arrives, which can be before `consume` resolved):
 * a plain `addEventListener` would miss that abort and leave a consumer nobody can stop.
 */
export function onAbort(signal: AbortSignal | undefined, stop: () => void): void {
  if (!signal) return;
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
}
