// What the TLS tests of every transport share: the test certificates of this checkout, one task
// run end to end over the encrypted connection, and the shapes of the two ways it must fail.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  Client,
  defineTask,
  InvalidOptionError,
  MemoryResultBackend,
  type Transport,
  Worker,
} from '@conveyor/core';
import { expect } from 'vitest';

// From dist/ or src/ alike: three levels up is the repository root.
const TLS_DIR = fileURLToPath(new URL('../../../.conveyor/brokers/tls/', import.meta.url));

/** The files tooling/brokers/tls-certs.sh writes; `other-ca` is a CA no broker trusts. */
export type TestCertificateFile =
  | 'ca.crt'
  | 'client.crt'
  | 'client.key'
  | 'other-ca.crt'
  | 'other-ca.key'
  | 'missing.crt';

/** The certificates the brokers of this checkout were started with (they differ per checkout). */
export const testCertificates = {
  /** Absolute path of a file, as a URL's `tlsCa`, `tlsCert` or `tlsKey` names it. */
  path(name: TestCertificateFile): string {
    return `${TLS_DIR}${name}`;
  },
  /** Contents of a file, as a transport's `tls` option takes it. */
  pem(name: TestCertificateFile): Buffer {
    return readFileSync(`${TLS_DIR}${name}`);
  },
};

/**
 * Runs `tls.add(2, 3)` on `queue` with a Worker and a Client sharing `transport`, and returns what
 * the Client got back: 5 when the round trip over the encrypted connection works. Closes the
 * transport.
 */
export async function addOverTransport(
  transport: Transport,
  queue: string,
  timeoutMs: number,
): Promise<unknown> {
  const results = new MemoryResultBackend();
  const add = defineTask({ name: 'tls.add', handler: ([a, b]: [number, number]) => a + b });
  const worker = new Worker({ transport, tasks: [add], queues: [queue], results, concurrency: 2 });
  await worker.start();
  try {
    const handle = await new Client({ transport, results, defaultQueue: queue }).send(add, [2, 3]);
    return await handle.get({ timeout: timeoutMs });
  } finally {
    await worker.stop();
    await transport.close();
  }
}

/**
 * The error `attempt` (a connect, or a first request) must reject with. How long it took is
 * logged, never asserted: these machines are shared.
 */
export async function failureOf(label: string, attempt: () => Promise<unknown>): Promise<Error> {
  const started = Date.now();
  try {
    await attempt();
  } catch (error) {
    console.log(`${label} failed after ${Date.now() - started} ms: ${(error as Error).message}`);
    return error as Error;
  }
  throw new Error(`${label} succeeded`);
}

/** The option an InvalidOptionError from `build` names; any other outcome fails the test. */
export function invalidOptionOf(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return (error as InvalidOptionError).option;
  }
  throw new Error('built without an error');
}
