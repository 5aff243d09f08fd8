// Whether a test that cannot run here is skipped or failed. The broker packages' interop and
// broker-restart tests need things a developer's machine may lack (a broker, the Python venv,
// rabbitmqctl): there a skip with the reason is the useful answer, but under CI the same skip would
// hide a broken set-up behind a green run, so there it fails. Kept free of vitest and
// @conveyor/core, hence exported from the main entry point.

/**
 * True when `CI` is set to anything but an empty string, `0` or `false` (CI services set
 * `CI=true`).
 */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

/**
 * A test that cannot run here (`what`, because `reason`): skipped through `skip` on a developer's
 * machine, but failed when CI is set, where a silent skip would hide a broken set-up.
 */
export function skipOrFailInCi(
  what: string,
  reason: string,
  skip: (note: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (isCi(env)) {
    throw new Error(`${what} cannot run: ${reason} (CI is set, so this fails instead of being skipped)`);
  }
  skip(`${what} skipped: ${reason}`);
}
