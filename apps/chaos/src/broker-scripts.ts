import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The repo's broker tooling (the same from src/ and dist/: both sit two levels under the repo). */
const BROKERS_SH = fileURLToPath(new URL('../../../tooling/brokers/brokers.sh', import.meta.url));
const REDIS_PRIVATE_SH = fileURLToPath(new URL('../../../tooling/brokers/redis-private.sh', import.meta.url));

const execFileAsync = promisify(execFile);

/** Runs `bash tooling/brokers/brokers.sh ARGS...`; rejects with the script's stderr. */
export async function brokersSh(args: readonly string[], timeoutMs = 300_000): Promise<string> {
  const { stdout } = await execFileAsync('bash', [BROKERS_SH, ...args], { timeout: timeoutMs });
  return stdout;
}

/** Runs `bash tooling/brokers/redis-private.sh ARGS...`. */
export async function redisPrivateSh(args: readonly string[]): Promise<string> {
  const { stdout } = await execFileAsync('bash', [REDIS_PRIVATE_SH, ...args], { timeout: 60_000 });
  return stdout;
}
