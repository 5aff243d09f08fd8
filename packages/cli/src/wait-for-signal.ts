/**
 * The first SIGINT or SIGTERM. Until it comes (or dispose), the process stays alive: transports
 * unref their timers, so an idle worker or dashboard would otherwise let Node exit.
 */
export function waitForSignal(): { next: Promise<NodeJS.Signals>; dispose(): void } {
  const keepAlive = setInterval(() => {}, 1 << 30);
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const dispose = (): void => {
    clearInterval(keepAlive);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const next = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (signal) => {
      dispose();
      resolve(signal);
    };
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { next, dispose };
}
