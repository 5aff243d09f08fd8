// Test-only helpers: find (or start) a Redis for the self-tests, and run raw Redis commands with
// exact bytes (redis-cli, or redis-py from the venv when redis-cli is absent).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { ensurePythonCelery, PYTHON_TOOLING_DIR, skipOrFailInCi } from '../src/index.js';

export type RedisCheck = { ok: true; url: string; startedBy: string } | { ok: false; reason: string };

const BROKERS_SCRIPT = `${PYTHON_TOOLING_DIR}/../brokers/brokers.sh`;

/**
 * Redis for the tests: CONVEYOR_REDIS_URL (default redis://127.0.0.1:6379). Tries
 * `bash tooling/brokers/brokers.sh up redis` when that script exists, then checks PING.
 */
export async function ensureRedis(): Promise<RedisCheck> {
  const url = (process.env.CONVEYOR_REDIS_URL ?? 'redis://127.0.0.1:6379').replace(/\/\d*$/, '');
  const { hostname, port } = new URL(url);
  const notes: string[] = [];
  let startedBy = 'already running';
  if (existsSync(BROKERS_SCRIPT)) {
    const up = spawnSync('bash', [BROKERS_SCRIPT, 'up', 'redis'], { encoding: 'utf8', timeout: 120_000 });
    if (up.status === 0) startedBy = 'tooling/brokers/brokers.sh up redis';
    else
      notes.push(`brokers.sh up redis exited ${up.status}: ${(up.stderr || up.stdout).trim().slice(-500)}`);
  } else {
    notes.push('tooling/brokers/brokers.sh does not exist');
  }
  const pong = await ping(hostname || '127.0.0.1', Number(port || 6379));
  if (pong === true) return { ok: true, url, startedBy };
  notes.push(`PING ${hostname}:${port || 6379} failed: ${pong}`);
  return { ok: false, reason: notes.join('; ') };
}

/**
 * ensureRedis() for a test file that cannot run without Redis. Without one, the file is skipped with
 * a warning on a developer's machine, but throws under CI: there a silent skip would hide a broken
 * set-up (a test file whose top level throws is reported as failed).
 */
export async function redisOrSkip(what: string, env: NodeJS.ProcessEnv = process.env): Promise<RedisCheck> {
  const redis = await ensureRedis();
  if (!redis.ok) warnOrFailInCi(what, redis.reason, env);
  return redis;
}

/** Warns that `what` is skipped because of `reason`, or throws when `CI` is set (see redisOrSkip):
 *  skipOrFailInCi with a warning as the skip, for files that then skip through describe.skipIf. */
export function warnOrFailInCi(what: string, reason: string, env: NodeJS.ProcessEnv = process.env): void {
  skipOrFailInCi(what, reason, () => console.warn(`SKIPPED ${what}: ${reason}`), env);
}

function ping(host: string, port: number): Promise<true | string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let data = '';
    const finish = (value: true | string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => finish('no answer within 2 s'), 2000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n')) finish(data.startsWith('+PONG') ? true : `answered ${JSON.stringify(data)}`);
    });
    socket.once('error', (error) => finish(error.message));
  });
}

let hasRedisCli: boolean | undefined;

/**
 * Runs one Redis command and returns its reply lines (strings are decoded as UTF-8). Arguments are
 * passed as exact bytes, so keys may contain the kombu separator "\x06\x16".
 */
export async function redisCommand(url: string, args: string[]): Promise<string[]> {
  hasRedisCli ??= spawnSync('redis-cli', ['--version']).status === 0;
  if (hasRedisCli) {
    const out = spawnSync('redis-cli', ['-u', url, '--raw', ...args], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${out.stderr}`);
    return out.stdout.split('\n').filter((line) => line !== '');
  }
  const python = await ensurePythonCelery();
  const code = [
    'import redis, sys',
    'r = redis.Redis.from_url(sys.argv[1])',
    'res = r.execute_command(*sys.argv[2:])',
    'res = res if isinstance(res, list) else [res]',
    'print("\\n".join(x.decode() if isinstance(x, bytes) else str(x) for x in res))',
  ].join('\n');
  const out = spawnSync(python, ['-c', code, url, ...args], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`redis-py ${args.join(' ')}: ${out.stderr}`);
  return out.stdout.split('\n').filter((line) => line !== '');
}

/** Python's json.dumps() with default separators (", " and ": "), for ASCII data. */
export function pythonJsonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}
