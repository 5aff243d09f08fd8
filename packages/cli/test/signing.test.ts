import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { appWithBrokers, FIXTURES, runBin, startBin } from './helpers.js';

/**
 * The signing flags with the real bin on Redis: `conveyor send --sign-key/--sign-cert` signs in
 * Celery's auth format and a `conveyor worker --trust` runs only what a trusted key signed; the
 * rest lands in the dead-letter queue with the reason. Keys and certificates are made by openssl
 * at test time, so none is committed.
 */
const RUN = randomBytes(4).toString('hex');
const BROKER = 'redis://127.0.0.1:6379/11';
/** Nothing listens here: a command that fails on its flags must fail before it tries to connect. */
const UNREACHABLE = 'redis://127.0.0.1:1';
const PASSPHRASE = `pass-${randomBytes(8).toString('hex')}`;

const app = appWithBrokers(['redis']);
const dir = mkdtempSync(join(tmpdir(), 'conveyor-cli-signing-'));
const file = (name: string): string => join(dir, name);

/** An RSA key and its self-signed certificate as `<name>.key` and `<name>.pem`; Celery's key id is "Conveyor CLI Tests <cn> <serial>". */
function makeIdentity(name: string, serial: number): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.pem`),
      '-days',
      '2',
      '-subj',
      `/O=Conveyor CLI Tests/CN=${name}`,
      '-set_serial',
      String(serial),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

beforeAll(() => {
  makeIdentity('producer', 1);
  makeIdentity('retired', 2);
  makeIdentity('stranger', 3);
  // One --trust file holding two certificates, as a bundle of a rotation would.
  writeFileSync(
    file('trusted.pem'),
    readFileSync(file('producer.pem'), 'utf8') + readFileSync(file('retired.pem'), 'utf8'),
  );
  execFileSync(
    'openssl',
    [
      'pkey',
      '-in',
      file('producer.key'),
      '-aes256',
      '-passout',
      'env:PASSPHRASE',
      '-out',
      file('encrypted.key'),
    ],
    { env: { ...process.env, PASSPHRASE }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(app, { recursive: true, force: true });
});

/** What `dlq list --json` prints of each letter (the fields this test reads). */
interface ListedLetter {
  taskId: string | null;
  reason: string | null;
}

describe('conveyor send --sign-key and conveyor worker --trust on redis', () => {
  it('runs what a trusted key signed; dead-letters unsigned, unbound and unknown-signer messages with their reason', async () => {
    const queue = `cli-signing-${RUN}`;
    /** `conveyor send tasks.add` to the queue with the extra flags and environment; its task id. */
    const send = async (extra: string[], env: Record<string, string> = {}): Promise<string> => {
      const result = await runBin(
        ['send', 'tasks.add', '--broker', BROKER, '--queue', queue, '--args', '[2, 3]', ...extra],
        { cwd: app, env },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toContain(PASSPHRASE);
      return result.stdout.trim();
    };
    const producer = ['--sign-key', file('producer.key'), '--sign-cert', file('producer.pem')];
    const worker = startBin(
      [
        'worker',
        '--broker',
        BROKER,
        '--tasks',
        join(FIXTURES, 'tasks.mjs'),
        '--queues',
        queue,
        '--trust',
        file('trusted.pem'),
        '--require-bound-headers',
      ],
      { cwd: app },
    );
    const ids: Record<'signed' | 'encryptedKey' | 'unbound' | 'unsigned' | 'stranger', string> = {
      signed: '',
      encryptedKey: '',
      unbound: '',
      unsigned: '',
      stranger: '',
    };
    try {
      await worker.waitForOutput('ready:', 30_000);
      expect(worker.stdout()).toContain(
        'signing: trusting 2 certificates ("Conveyor CLI Tests producer 1", "Conveyor CLI Tests retired 2"); ' +
          'unsigned tasks are dead-lettered; signed tasks must bind their headers',
      );
      const started = Date.now();
      ids.signed = await send([...producer, '--bind-headers']);
      // The encrypted copy of the same key, its passphrase from the variable --sign-key-passphrase-env names.
      ids.encryptedKey = await send(
        [
          '--sign-key',
          file('encrypted.key'),
          '--sign-cert',
          file('producer.pem'),
          '--sign-key-passphrase-env',
          'PRODUCER_KEY_PASSPHRASE',
          '--bind-headers',
        ],
        { PRODUCER_KEY_PASSPHRASE: PASSPHRASE },
      );
      // Signed through the environment variables, headers not bound: refused by --require-bound-headers
      // (were the variables ignored, the reason would be "unsigned").
      ids.unbound = await send([], {
        CONVEYOR_SIGN_KEY: file('producer.key'),
        CONVEYOR_SIGN_CERT: file('producer.pem'),
      });
      ids.unsigned = await send([]);
      ids.stranger = await send([
        '--sign-key',
        file('stranger.key'),
        '--sign-cert',
        file('stranger.pem'),
        '--bind-headers',
      ]);

      await vi.waitFor(
        () => {
          const out = worker.stdout();
          for (const id of [ids.signed, ids.encryptedKey])
            expect(out).toContain(`task tasks.add[${id}] succeeded`);
          // The worker names no task id for a message it refuses to open: its headers are unverified.
          expect(out.split(`dead-lettered from ${queue}: message signature rejected`).length - 1).toBe(3);
        },
        { timeout: 20_000, interval: 200 },
      );
      console.log(`[signing] 5 sends and their outcomes in ${Date.now() - started} ms`);
      const out = worker.stdout();
      for (const id of [ids.unbound, ids.unsigned, ids.stranger]) {
        expect(out).not.toContain(`tasks.add[${id}] succeeded`);
      }
      expect(out).not.toContain(PASSPHRASE);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }

    const listed = await runBin(['dlq', 'list', '--json', '--broker', BROKER, '--queue', queue], {
      cwd: app,
    });
    expect(listed.code, listed.stderr).toBe(0);
    const { letters } = JSON.parse(listed.stdout) as { letters: ListedLetter[] };
    const reasons = new Map(letters.map((letter) => [letter.taskId, letter.reason]));
    expect(new Set(reasons.keys())).toEqual(new Set([ids.unbound, ids.unsigned, ids.stranger]));
    expect(reasons.get(ids.unbound)).toMatch(/^message signature rejected \(unbound-headers\): /);
    expect(reasons.get(ids.unsigned)).toMatch(/^message signature rejected \(unsigned\): /);
    expect(reasons.get(ids.stranger)).toBe(
      'message signature rejected (unknown-signer): signer "Conveyor CLI Tests stranger 3" is not among the trusted certificates',
    );

    const purged = await runBin(['dlq', 'purge', '--yes', '--broker', BROKER, '--queue', queue], {
      cwd: app,
    });
    expect(purged.code, purged.stderr).toBe(0);
  }, 90_000);
});

describe('the signing flags: mistakes stop the command at start, naming the flag', () => {
  it('a --trust file that is missing, not a certificate or a directory fails the worker before it connects', async () => {
    const cases: [string, RegExp][] = [
      [file('missing.pem'), /^conveyor: --trust \S+missing\.pem: no such file$/m],
      [file('producer.key'), /^conveyor: --trust \S+producer\.key: holds no PEM certificate/m],
      [dir, /^conveyor: --trust \S+: is a directory, not a PEM file$/m],
    ];
    for (const [path, message] of cases) {
      const result = await runBin(
        [
          'worker',
          '--broker',
          UNREACHABLE,
          '--tasks',
          join(FIXTURES, 'tasks.mjs'),
          '--trust',
          file('trusted.pem'),
          '--trust',
          path,
        ],
        { cwd: app },
      );
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).not.toContain('connecting');
    }
    const fromEnv = await runBin(
      ['worker', '--broker', UNREACHABLE, '--tasks', join(FIXTURES, 'tasks.mjs')],
      {
        cwd: app,
        env: { CONVEYOR_TRUST: `${file('trusted.pem')},${file('gone.pem')}` },
      },
    );
    expect(fromEnv.code, fromEnv.stderr).toBe(2);
    expect(fromEnv.stderr).toMatch(/^conveyor: --trust \(\$CONVEYOR_TRUST\) \S+gone\.pem: no such file$/m);
  });

  it('send refuses a key of another certificate, a missing or wrong passphrase, and a lone flag, without printing a secret', async () => {
    const send = (args: string[], env: Record<string, string> = {}) =>
      runBin(['send', 'tasks.add', '--broker', UNREACHABLE, ...args], { cwd: app, env });
    const key = readFileSync(file('producer.key'), 'utf8');
    const keyLine = key.split('\n')[1]!;
    const cases: [string[], Record<string, string>, RegExp][] = [
      [
        ['--sign-key', file('stranger.key'), '--sign-cert', file('producer.pem')],
        {},
        /^conveyor: --sign-key \S+stranger\.key: does not belong to --sign-cert$/m,
      ],
      [
        ['--sign-key', file('encrypted.key'), '--sign-cert', file('producer.pem')],
        {},
        /^conveyor: --sign-key \S+encrypted\.key: the key is encrypted; give its passphrase .*--sign-key-passphrase-env VAR$/m,
      ],
      [
        [
          '--sign-key',
          file('encrypted.key'),
          '--sign-cert',
          file('producer.pem'),
          '--sign-key-passphrase-env',
          'KEY_PASS',
        ],
        {},
        /^conveyor: --sign-key-passphrase-env: the environment variable KEY_PASS is not set or empty$/m,
      ],
      [
        [
          '--sign-key',
          file('encrypted.key'),
          '--sign-cert',
          file('producer.pem'),
          '--sign-key-passphrase-env',
          'KEY_PASS',
        ],
        { KEY_PASS: `${PASSPHRASE}-wrong` },
        /^conveyor: --sign-key \S+encrypted\.key \(passphrase from \$KEY_PASS\): is not a readable PEM private key/m,
      ],
      [['--sign-key', file('producer.key')], {}, /--sign-key \S+producer\.key needs --sign-cert FILE/],
      [['--sign-cert', file('producer.pem')], {}, /--sign-cert \S+producer\.pem needs --sign-key FILE/],
      [['--bind-headers'], {}, /--bind-headers only applies with --sign-key FILE/],
      [
        ['--sign-key', file('nope.key'), '--sign-cert', file('producer.pem')],
        {},
        /--sign-key \S+nope\.key: no such file/,
      ],
    ];
    for (const [args, env, message] of cases) {
      const result = await send(args, env);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/ECONNREFUSED|cannot connect/);
      for (const secret of [PASSPHRASE, keyLine, 'PRIVATE KEY']) expect(result.stderr).not.toContain(secret);
    }
    const lone = await runBin(
      ['worker', '--broker', UNREACHABLE, '--tasks', join(FIXTURES, 'tasks.mjs'), '--allow-unsigned'],
      {
        cwd: app,
      },
    );
    expect(lone.code).toBe(2);
    expect(lone.stderr).toContain('--allow-unsigned only applies with --trust FILE');
  });
});
