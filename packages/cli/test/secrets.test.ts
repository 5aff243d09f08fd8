import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect, promisify } from 'node:util';
import type { Transport } from '@conveyor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appWithBrokers, type BinResult, FIXTURES, runBin, startBin, transportInApp } from './helpers.js';

// A password that appears nowhere else: four random tokens joined by characters a URL must encode,
// so that a leak of the raw password, of its encoded form or of any fragment of it (a redaction
// that stops at the first "/" or "@") is caught.
const TOKENS = Array.from({ length: 4 }, () => randomBytes(5).toString('hex'));
const PASSWORD = `${TOKENS[0]}/${TOKENS[1]}@${TOKENS[2]}#${TOKENS[3]}%`;
const ENCODED = encodeURIComponent(PASSWORD);
const NEEDLES = [PASSWORD, ENCODED, ...TOKENS];

const suffix = randomBytes(4).toString('hex');
const USER = `conveyor-secrets-${suffix}`;
const QUEUE = `secrets-${suffix}`;

const redisUrl = (password = ENCODED, host = '127.0.0.1:6379'): string =>
  `redis://${USER}:${password}@${host}/10`;
const amqpUrl = (password = ENCODED, host = '127.0.0.1:5672'): string => `amqp://${USER}:${password}@${host}`;

/** Everything a run wrote, labelled, for one assertion at the end of each test. */
const outputs: { label: string; text: string }[] = [];

function record(label: string, result: BinResult): BinResult {
  outputs.push({ label: `${label} (stdout)`, text: result.stdout });
  outputs.push({ label: `${label} (stderr)`, text: result.stderr });
  return result;
}

/** Fails naming the output that holds the password or a piece of it. */
function expectNoSecret(items: readonly { label: string; text: string }[]): void {
  const leaks = items.flatMap(({ label, text }) =>
    NEEDLES.filter((needle) => text.includes(needle)).map(
      (needle) => `${label} contains "${needle}":\n${text.slice(0, 2000)}`,
    ),
  );
  expect(leaks).toEqual([]);
}

const brokers = fileURLToPath(new URL('../../../tooling/brokers/brokers.sh', import.meta.url));
const rabbitmqctl = (...args: string[]) =>
  promisify(execFile)('bash', [brokers, 'rabbitmqctl', ...args], { timeout: 60_000 });
/** A module as the broker package installed in the app imports it (ioredis, amqplib). */
async function importBesides(pkg: 'redis' | 'amqp', name: string): Promise<unknown> {
  const brokerPackage = createRequire(join(app, 'package.json')).resolve(`@conveyor/${pkg}`);
  return import(pathToFileURL(createRequire(brokerPackage).resolve(name)).href);
}

type RedisAdmin = {
  call(...args: string[]): Promise<unknown>;
  scan(cursor: string, ...args: string[]): Promise<[string, string[]]>;
  del(...keys: string[]): Promise<number>;
  disconnect(): void;
};

/** Runs `use` on db 10 of the local Redis as its default (admin) user. */
async function withRedisAdmin(use: (redis: RedisAdmin) => Promise<unknown>): Promise<void> {
  const { Redis } = (await importBesides('redis', 'ioredis')) as {
    Redis: new (options: object) => RedisAdmin;
  };
  const redis = new Redis({ port: 6379, db: 10 });
  try {
    await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** Every key of this file's queues (the runs' lists, dead letters and bookkeeping). */
async function deleteRedisKeys(prefix: string): Promise<void> {
  await withRedisAdmin(async (redis) => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000');
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  });
}

interface AmqpChannel {
  on(event: 'error', listener: () => void): void;
  deleteQueue(name: string): Promise<unknown>;
  deleteExchange(name: string): Promise<unknown>;
}

/** Deletes queues (and their exchanges) the runs declared on RabbitMQ, as guest. */
async function deleteAmqpQueues(names: readonly string[]): Promise<void> {
  const amqplib = (
    (await importBesides('amqp', 'amqplib')) as {
      default: {
        connect(url: string): Promise<{ createChannel(): Promise<AmqpChannel>; close(): Promise<void> }>;
      };
    }
  ).default;
  const connection = await amqplib.connect('amqp://guest:guest@127.0.0.1:5672');
  const channel = await connection.createChannel();
  channel.on('error', () => {});
  for (const name of names) {
    await channel.deleteQueue(name).catch(() => {});
    await channel.deleteExchange(name).catch(() => {});
  }
  await connection.close();
}

const app = appWithBrokers(['redis', 'amqp', 'sqs', 'kafka']);
const TASKS = join(FIXTURES, 'tasks.mjs');
const reports = mkdtempSync(join(tmpdir(), 'conveyor-secrets-'));

beforeAll(async () => {
  await withRedisAdmin((redis) =>
    redis.call('ACL', 'SETUSER', USER, 'reset', 'on', `>${PASSWORD}`, '~*', '&*', '+@all'),
  );
  await rabbitmqctl('add_user', USER, PASSWORD);
  await rabbitmqctl('set_permissions', '-p', '/', USER, '.*', '.*', '.*');
}, 60_000);

afterAll(async () => {
  await withRedisAdmin((redis) => redis.call('ACL', 'DELUSER', USER)).catch(() => {});
  await deleteRedisKeys(QUEUE);
  const queues = [QUEUE, `${QUEUE}-redis`, `${QUEUE}-amqp`, `${QUEUE}-redis-demo`, `${QUEUE}-amqp-demo`];
  await deleteAmqpQueues(queues.flatMap((q) => [q, `${q}.dlq`]));
  await rabbitmqctl('delete_user', USER).catch(() => {});
  rmSync(reports, { recursive: true, force: true });
  rmSync(app, { recursive: true, force: true });
}, 60_000);

describe.each([
  ['redis', redisUrl],
  ['amqp', amqpUrl],
] as const)('no password in what the CLI prints or writes (%s)', (name, url) => {
  it('worker, send (with its result), dlq, inspect, conformance, the demo and the dashboard, working', async () => {
    const queue = `${QUEUE}-${name}`;
    const worker = startBin(
      ['worker', '--broker', url(), '--results', redisUrl(), '--tasks', TASKS, '-Q', queue],
      { cwd: app },
    );
    await worker.waitForOutput('ready: consuming', 30_000);
    const sent = record(
      'send --wait',
      await runBin(
        [
          'send',
          'tasks.add',
          '--broker',
          url(),
          '--results',
          redisUrl(),
          '--queue',
          queue,
          '--args',
          '[2,3]',
          '--wait',
        ],
        { cwd: app },
      ),
    );
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout.trim().split('\n')[1]).toBe('5');
    // A task the worker does not know: dead-lettered, for the dlq commands below.
    const unknown = record(
      'send (unknown task)',
      await runBin(['send', 'tasks.unknown', '--broker', url(), '--queue', queue], { cwd: app }),
    );
    expect(unknown.code, unknown.stderr).toBe(0);
    await worker.waitForOutput('tasks.unknown', 20_000);
    worker.child.kill('SIGTERM');
    const stopped = record('worker', await worker.exited);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain('succeeded');
    for (const args of [['list'], ['list', '--json']]) {
      const dlq = record(
        `dlq ${args.join(' ')}`,
        await runBin(['dlq', ...args, '--broker', url(), '--queue', queue], { cwd: app }),
      );
      expect(dlq.code, dlq.stderr).toBe(0);
      expect(dlq.stdout).toContain(unknown.stdout.trim());
    }

    for (const args of [
      ['--queue', queue],
      ['--queue', queue, '--json'],
    ]) {
      const inspected = record(
        `inspect ${args.join(' ')}`,
        await runBin(['inspect', '--broker', url(), ...args], { cwd: app }),
      );
      expect(inspected.code, inspected.stderr).toBe(0);
    }
    // The broker URL from the environment, as the CLI recommends (keeps it out of `ps`).
    const fromEnv = record(
      'inspect (URL from CONVEYOR_BROKER_URL)',
      await runBin(['inspect', '--queue', queue], { cwd: app, env: { CONVEYOR_BROKER_URL: url() } }),
    );
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(fromEnv.stdout).toContain(`${USER}:***@`);

    const report = join(reports, `conformance-${name}.json`);
    const conformance = record(
      'conformance',
      await runBin(['conformance', '--broker', url(), '--only', 'LIF-01,PUB-01', '--report', report], {
        cwd: app,
        killAfterMs: 120_000,
      }),
    );
    expect(conformance.code, conformance.stderr).toBe(0);
    outputs.push({ label: 'conformance report file', text: readFileSync(report, 'utf8') });

    const demo = record(
      'demo',
      await runDemo(['--tasks', '30', '--broker', url(), '--queue', `${queue}-demo`]),
    );
    expect(demo.code, demo.stderr).toBe(0);

    // The dashboard: its page, its JSON state (the letters included) and its own output.
    const dashboard = startBin(
      [
        'dashboard',
        '--broker',
        url(),
        '--results',
        redisUrl(),
        '--queue',
        queue,
        '--listen',
        '127.0.0.1:0',
        '--allow-redrive-purge',
      ],
      { cwd: app },
    );
    try {
      await dashboard.waitForOutput('dashboard: serving', 20_000);
      const page = /dashboard: serving (http:\/\/\S+)/.exec(dashboard.stdout())?.[1];
      expect(page).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      for (const path of ['', 'api/state']) {
        const response = await fetch(`${page}${path}`);
        expect(response.status).toBe(200);
        outputs.push({ label: `dashboard GET /${path}`, text: await response.text() });
      }
    } finally {
      dashboard.child.kill('SIGTERM');
    }
    record('dashboard', await dashboard.exited);
    expectNoSecret(outputs.splice(0));
  }, 180_000);

  it.each([
    ['a refused connection', () => url(ENCODED, '127.0.0.1:1')],
    ['a wrong password', () => url(`wrong${ENCODED}`)],
    ['an unknown host', () => url(ENCODED, 'no-such-host.invalid:5999')],
    ['the password not URL-encoded', () => url(PASSWORD)],
  ])(
    'failing with %s, with stack traces and causes (CONVEYOR_DEBUG=1)',
    async (_, failing) => {
      const env = { CONVEYOR_DEBUG: '1' };
      const runs = await Promise.all([
        runBin(['inspect', '--broker', failing()], { cwd: app, env }),
        runBin(['send', 'tasks.add', '--broker', failing(), '--queue', QUEUE], { cwd: app, env }),
        runBin(['worker', '--broker', failing(), '--tasks', TASKS, '-Q', QUEUE], { cwd: app, env }),
        runBin(['dlq', 'list', '--broker', failing(), '--queue', QUEUE], { cwd: app, env }),
        runBin(['send', 'tasks.add', '--broker', redisUrl(), '--results', failing(), '-q', QUEUE, '--wait'], {
          cwd: app,
          env,
        }),
        runDemo(['--tasks', '5', '--broker', failing(), '--queue', QUEUE], env),
      ]);
      for (const [i, result] of runs.entries()) {
        record(`failing run ${i}`, result);
        expect(result.code, result.stdout + result.stderr).not.toBe(0);
      }
      expectNoSecret(outputs.splice(0));
    },
    120_000,
  );
});

const KAFKA_CA = encodeURIComponent(
  fileURLToPath(new URL('../../../.conveyor/brokers/tls/ca.crt', import.meta.url)),
);
const DEMO = fileURLToPath(new URL('../../../apps/demo/dist/main.js', import.meta.url));

/** The demo app (`pnpm demo`), run as the CLI is. */
function runDemo(args: string[], env: Record<string, string> = {}): Promise<BinResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [DEMO, ...args],
      { cwd: app, env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, signal: null, stdout, stderr });
      },
    );
  });
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch (error) {
    return `not JSON: ${String(error)}`;
  }
}

/** What a caller of a transport could print: errors with their causes, health, broker facts. */
async function transportOutputs(
  label: string,
  transport: Transport,
  { publish = true } = {},
): Promise<{ label: string; text: string }[]> {
  // What console.log(transport) or a JSON logger would print of it (its options included).
  const out: { label: string; text: string }[] = [
    { label: `${label} util.inspect`, text: inspect(transport, { depth: 8 }) },
    { label: `${label} JSON`, text: safeJson(transport) },
  ];
  const error = await transport.connect().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error !== undefined) {
    out.push({ label: `${label} connect error`, text: `${String(error)}\n${inspect(error, { depth: 8 })}` });
  }
  out.push({ label: `${label} health()`, text: inspect(await transport.health(), { depth: 8 }) });
  const facts = (transport as { brokerFacts?: () => Promise<unknown> }).brokerFacts;
  if (facts) {
    const result = await facts.call(transport).then(
      (value) => inspect(value, { depth: 8 }),
      (e: unknown) => `${String(e)}\n${inspect(e, { depth: 8 })}`,
    );
    out.push({ label: `${label} brokerFacts()`, text: result });
  }
  if (publish) {
    const published = await transport
      .publish(QUEUE, {
        headers: { id: 'x', task: 'tasks.add' },
        properties: { content_type: 'application/json', content_encoding: 'utf-8' },
        body: new TextEncoder().encode('[[], {}, {}]'),
      })
      .then(
        () => 'published',
        (e: unknown) => `${String(e)}\n${inspect(e, { depth: 8 })}`,
      );
    out.push({ label: `${label} publish`, text: published });
  }
  await transport.close();
  return out;
}

describe('no password in what the CLI prints for Kafka (SASL) and SQS (AWS credentials)', () => {
  it('inspect and send, working and failing, with CONVEYOR_DEBUG=1', async () => {
    const env = { CONVEYOR_DEBUG: '1' };
    const kafka = (password: string, port = 9094) =>
      `kafka+ssl://conveyor:${password}@127.0.0.1:${port}?tlsCa=${KAFKA_CA}`;
    // SQS takes no credentials in its URL: they come from the AWS provider chain (here the
    // environment), which ElasticMQ accepts whatever they are.
    const aws = { ...env, AWS_ACCESS_KEY_ID: USER, AWS_SECRET_ACCESS_KEY: PASSWORD, AWS_REGION: 'us-east-1' };
    const runs = await Promise.all([
      runBin(['inspect', '--broker', kafka(ENCODED), '--queue', QUEUE], {
        cwd: app,
        env,
        killAfterMs: 60_000,
      }),
      runBin(['inspect', '--broker', kafka(ENCODED, 1), '--queue', QUEUE], {
        cwd: app,
        env,
        killAfterMs: 60_000,
      }),
      runBin(['inspect', '--broker', 'sqs://127.0.0.1:9324', '--queue', QUEUE], { cwd: app, env: aws }),
      runBin(['send', 'tasks.add', '--broker', 'sqs://127.0.0.1:1', '--queue', QUEUE], {
        cwd: app,
        env: aws,
      }),
    ]);
    const [wrongKafka, refusedKafka, sqs, refusedSqs] = runs;
    expect(wrongKafka!.code, wrongKafka!.stdout).not.toBe(0);
    expect(refusedKafka!.code, refusedKafka!.stdout).not.toBe(0);
    expect(sqs!.code, sqs!.stderr).toBe(0);
    expect(refusedSqs!.code, refusedSqs!.stdout).not.toBe(0);
    for (const [i, result] of runs.entries()) record(`kafka/sqs run ${i}`, result);
    expectNoSecret(outputs.splice(0));

    // brokers.sh's own SCRAM user, working: its password is the needle.
    const working = await runBin(['inspect', '--broker', kafka('conveyor-secret'), '--queue', QUEUE], {
      cwd: app,
      env,
      killAfterMs: 60_000,
    });
    expect(working.code, working.stderr).toBe(0);
    expect(working.stdout + working.stderr).not.toContain('conveyor-secret');
  }, 120_000);
});

describe('no password in errors, health() or brokerFacts() of each transport', () => {
  const cases: [string, 'redis' | 'amqp' | 'sqs' | 'kafka', string][] = [
    ['redis working', 'redis', redisUrl()],
    ['redis refused', 'redis', redisUrl(ENCODED, '127.0.0.1:1')],
    ['redis wrong password', 'redis', redisUrl(`wrong${ENCODED}`)],
    ['amqp working', 'amqp', amqpUrl()],
    ['amqp refused', 'amqp', amqpUrl(ENCODED, '127.0.0.1:1')],
    ['amqp wrong password', 'amqp', amqpUrl(`wrong${ENCODED}`)],
    ['kafka refused', 'kafka', `kafka://${USER}:${ENCODED}@127.0.0.1:1`],
    // SASL on the plain listener: the handshake fails.
    ['kafka sasl on a plain listener', 'kafka', `kafka://${USER}:${ENCODED}@127.0.0.1:9092`],
    // The SCRAM user brokers.sh makes on the SASL_SSL listener, with this password instead of its own.
    [
      'kafka SCRAM wrong password',
      'kafka',
      `kafka+ssl://conveyor:${ENCODED}@127.0.0.1:9094?tlsCa=${KAFKA_CA}`,
    ],
  ];
  it.each(cases)(
    '%s',
    async (label, pkg, url) => {
      const transport = await transportInApp(app, pkg, url);
      expectNoSecret(await transportOutputs(label, transport));
    },
    60_000,
  );

  it("kafka over SASL_SSL with the SCRAM user's own password: health() and errors", async () => {
    // brokers.sh's SCRAM user (conveyor / conveyor-secret): its password is the needle here.
    const transport = await transportInApp(
      app,
      'kafka',
      `kafka+ssl://conveyor:conveyor-secret@127.0.0.1:9094?tlsCa=${KAFKA_CA}`,
    );
    const out = await transportOutputs('kafka SASL_SSL', transport, { publish: false });
    expect(out.find((o) => o.label.endsWith('health()'))?.text).toContain('ok: true');
    expect(out.filter((o) => o.text.includes('conveyor-secret'))).toEqual([]);
  }, 60_000);

  it('URLs the transports refuse do not print the password either', async () => {
    const refused: { label: string; text: string }[] = [];
    for (const [pkg, url] of [
      ['sqs', `sqs://${USER}:${ENCODED}@127.0.0.1:9324`],
      ['redis', `redis://${USER}:${ENCODED}@127.0.0.1:6379/not-a-db`],
      ['redis', `redis://${USER}:${ENCODED}@127.0.0.1:6379/0?nope=1`],
      ['kafka', `kafka://${USER}:${ENCODED}@127.0.0.1:9092?nope=1`],
      ['amqp', `amqp://${USER}:${ENCODED}@127.0.0.1:5672?priorityLevels=1`],
      // The password written into the URL without encoding it (its "/", "@", "#" and "%" make
      // the URL ambiguous): refused, never echoed.
      ['redis', redisUrl(PASSWORD)],
      ['kafka', `kafka://${USER}:${PASSWORD}@127.0.0.1:9092`],
      ['amqp', amqpUrl(PASSWORD, '127.0.0.1:1')],
    ] as const) {
      const transport = await transportInApp(app, pkg, url).catch((e: unknown) => e);
      if (transport instanceof Error) {
        refused.push({
          label: `${pkg} URL`,
          text: `${String(transport)}\n${inspect(transport, { depth: 8 })}`,
        });
      } else {
        // Taken as a URL after all: whatever it then does must not show the password either.
        refused.push(...(await transportOutputs(`${pkg} URL`, transport as Transport)));
      }
    }
    expectNoSecret(refused);
  });

  it('SQS credentials given as options stay out of errors and health()', async () => {
    const resolved = createRequire(join(app, 'package.json')).resolve('@conveyor/sqs');
    const { SqsTransport } = (await import(pathToFileURL(resolved).href)) as {
      SqsTransport: new (options: Record<string, unknown>) => Transport;
    };
    const out: { label: string; text: string }[] = [];
    for (const endpoint of ['http://127.0.0.1:9324', 'http://127.0.0.1:1']) {
      const transport = new SqsTransport({
        endpoint,
        region: 'us-east-1',
        client: { credentials: { accessKeyId: USER, secretAccessKey: PASSWORD } },
      });
      out.push(...(await transportOutputs(`sqs ${endpoint}`, transport)));
    }
    expectNoSecret(out);
  }, 60_000);
});
