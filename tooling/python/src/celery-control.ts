// Celery's own command line for the tests of Conveyor's remote control (issue 14): runs
// `python -m celery -A celery_app inspect|control …` against a broker and returns the replies.
import { spawn } from 'node:child_process';
import { ensurePythonCelery, INTEROP_DIR } from './celery.js';

/** What one `celery inspect`/`celery control` run printed and returned. */
export interface CeleryCommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The replies, `{hostname: reply}` merged over every node that answered (from `--json`). */
  replies: Record<string, unknown>;
}

/**
 * Runs `celery -A celery_app <kind> <command> [args] --json -t <seconds> [-d <destination>]` on
 * `brokerUrl`. Celery waits the whole timeout for replies, so keep it short; a run in which no
 * node replied exits 69 with an empty `replies`.
 */
export async function runCeleryRemoteControl(options: {
  brokerUrl: string;
  kind: 'inspect' | 'control';
  command: string;
  args?: readonly string[];
  destination?: string;
  timeoutSeconds?: number;
}): Promise<CeleryCommandRun> {
  const python = await ensurePythonCelery();
  const args = ['-m', 'celery', '-A', 'celery_app', options.kind, options.command, ...(options.args ?? [])];
  args.push('--json', '-t', String(options.timeoutSeconds ?? 2));
  if (options.destination) args.push('-d', options.destination);
  const child = spawn(python, args, {
    cwd: INTEROP_DIR,
    env: { ...process.env, PYTHONUNBUFFERED: '1', CELERY_BROKER_URL: options.brokerUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).finally(() => clearTimeout(kill));
  const replies: Record<string, unknown> = {};
  for (const line of stdout.split('\n')) {
    const text = line.trim();
    if (!text.startsWith('{') && !text.startsWith('[')) continue;
    const parsed = JSON.parse(text) as unknown;
    // `inspect` prints one merged object, `control` a list of one-node objects.
    for (const part of Array.isArray(parsed) ? parsed : [parsed]) Object.assign(replies, part);
  }
  return { code, stdout, stderr, replies };
}
