import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  brokerScheme,
  hasUnencodedCredentials,
  InvalidBrokerUrlError,
  InvalidOptionError,
  MemoryResultBackend,
  MemoryTransport,
  RESULT_BACKEND_PACKAGES,
  redactUrl,
  registeredSchemes,
  registerTransport,
  resultBackendFromUrl,
  TRANSPORT_PACKAGES,
  TransportNotInstalledError,
  transportFromUrl,
  unregisterTransport,
} from '../src/index.js';
import { uniqueBroker } from './helpers.js';

describe('brokerScheme', () => {
  it.each([
    ['memory://', 'memory'],
    ['redis://localhost:6379/0', 'redis'],
    ['REDISS://host', 'rediss'],
    ['redis+cluster://a:7000,b:7001', 'redis+cluster'],
    ['redis+sentinel://s:26379/mymaster', 'redis+sentinel'],
    ['amqp://guest:guest@localhost//', 'amqp'],
    ['sqs://', 'sqs'],
    ['sqs+https://sqs.eu-west-1.amazonaws.com:443', 'sqs+https'],
    ['kafka://broker:9092', 'kafka'],
  ])('reads the scheme of %s', (url, scheme) => {
    expect(brokerScheme(url)).toBe(scheme);
  });

  it.each([['localhost:6379x'], ['not a url'], ['mongodb://db'], ['']])(
    'rejects %j with InvalidBrokerUrlError',
    (url) => {
      expect(() => brokerScheme(url)).toThrow(InvalidBrokerUrlError);
    },
  );

  it('never shows the password of a URL in the error', () => {
    let message = '';
    try {
      brokerScheme('mongodb://admin:s3cret@db:27017');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('admin:***@db');
    expect(message).not.toContain('s3cret');
  });
});

describe('redactUrl', () => {
  it('replaces the password and keeps the rest', () => {
    expect(redactUrl('redis://user:pw@host:6379/0')).toBe('redis://user:***@host:6379/0');
    expect(redactUrl('redis://:pw@host')).toBe('redis://:***@host');
    expect(redactUrl('redis://host:6379')).toBe('redis://host:6379');
  });

  it('hides a password that holds an unencoded "/" or "@" whole, in every URL of a text', () => {
    expect(redactUrl('redis://u:a/b@c@host:6379/0')).toBe('redis://u:***@host:6379/0');
    expect(redactUrl('"amqp://u:p@h" and redis://:q/r@h2')).toBe('"amqp://u:***@h" and redis://:***@h2');
  });
});

describe('hasUnencodedCredentials', () => {
  it('is true when the user info holds "/", "?", "#", "@" or a stray "%"', () => {
    for (const url of [
      'redis://u:a/b@h',
      'redis://u:a?b@h',
      'amqp://u:a#b@h',
      'kafka://u:a@b@h',
      'redis://u:50%@h',
    ])
      expect(hasUnencodedCredentials(url), url).toBe(true);
    for (const url of [
      'redis://u:a%2Fb@h/0',
      'redis://h:6379/0',
      'amqp://guest:guest@h:5672/%2F',
      'memory://',
    ])
      expect(hasUnencodedCredentials(url), url).toBe(false);
  });
});

describe('transportFromUrl', () => {
  it('opens a MemoryTransport for memory:// on the named broker', async () => {
    const name = uniqueBroker('url');
    const transport = await transportFromUrl(`memory://${name}?visibilityTimeoutMs=null`);
    expect(transport).toBeInstanceOf(MemoryTransport);
    expect((transport as MemoryTransport).visibilityTimeoutMs).toBeNull();
    expect((transport as MemoryTransport).broker).toBe(new MemoryTransport({ broker: name }).broker);
    await transport.close();
  });

  it('refuses an unknown memory:// parameter, naming it', async () => {
    await expect(transportFromUrl('memory://x?prefetch=1')).rejects.toMatchObject({ option: 'prefetch' });
    await expect(transportFromUrl('memory://x?prefetch=1')).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('names the package to install when a broker package is missing', async () => {
    // A plain Node process in an empty folder: nothing there can resolve @conveyor/redis (inside
    // this workspace the test runner's resolver might find the workspace package).
    const script = `
      const { transportFromUrl } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
      const error = await transportFromUrl('redis://localhost:6379').catch((e) => e);
      console.log(JSON.stringify({ name: error.name, code: error.code, packageName: error.packageName, message: error.message }));
    `;
    const cwd = mkdtempSync(join(tmpdir(), 'conveyor-url-'));
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd,
      // Not the runner's environment: its loader options would resolve workspace packages.
      env: { PATH: process.env.PATH ?? '' },
    });
    const error = JSON.parse(stdout) as { name: string; code: string; packageName: string; message: string };
    expect(error.name).toBe(TransportNotInstalledError.name);
    expect(error.code).toBe('TRANSPORT_NOT_INSTALLED');
    expect(error.packageName).toBe('@conveyor/redis');
    expect(error.message).toContain('npm install @conveyor/redis');
  });

  it('maps every broker scheme to its package', () => {
    expect(TRANSPORT_PACKAGES).toEqual({
      redis: '@conveyor/redis',
      rediss: '@conveyor/redis',
      'redis+cluster': '@conveyor/redis',
      'redis+sentinel': '@conveyor/redis',
      amqp: '@conveyor/amqp',
      amqps: '@conveyor/amqp',
      sqs: '@conveyor/sqs',
      'sqs+https': '@conveyor/sqs',
      kafka: '@conveyor/kafka',
      'kafka+ssl': '@conveyor/kafka',
    });
  });
});

describe('resultBackendFromUrl', () => {
  it('opens a MemoryResultBackend for memory://', async () => {
    expect(await resultBackendFromUrl('memory://')).toBeInstanceOf(MemoryResultBackend);
  });

  it.each([['rpc://'], ['db+postgresql://h/db'], ['not a url']])(
    'refuses %j with an InvalidOptionError naming the option and the known schemes',
    async (url) => {
      const error = await resultBackendFromUrl(url, 'results').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ option: 'results' });
      expect((error as Error).message).toContain('known: memory, redis, rediss');
    },
  );

  it('maps the Redis URL forms to @conveyor/redis', () => {
    expect(Object.keys(RESULT_BACKEND_PACKAGES)).toEqual([
      'redis',
      'rediss',
      'redis+cluster',
      'redis+sentinel',
    ]);
    expect(new Set(Object.values(RESULT_BACKEND_PACKAGES))).toEqual(new Set(['@conveyor/redis']));
  });

  it('names the package to install when it is missing', async () => {
    const script = `
      const { resultBackendFromUrl } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
      const error = await resultBackendFromUrl('redis://localhost:6379/1').catch((e) => e);
      console.log(JSON.stringify({ code: error.code, packageName: error.packageName }));
    `;
    const cwd = mkdtempSync(join(tmpdir(), 'conveyor-results-url-'));
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd,
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(JSON.parse(stdout)).toEqual({ code: 'TRANSPORT_NOT_INSTALLED', packageName: '@conveyor/redis' });
  });
});

describe('registerTransport: a scheme Conveyor does not ship', () => {
  it('makes transportFromUrl open it, and unregisterTransport removes it', async () => {
    const opened: string[] = [];
    const factory = (url: string) => {
      opened.push(url);
      return new MemoryTransport({ broker: uniqueBroker() });
    };
    expect(() => brokerScheme('acme+queue://h:1')).toThrow(InvalidBrokerUrlError);
    registerTransport('acme+queue', factory);
    try {
      expect(registeredSchemes()).toContain('acme+queue');
      expect(brokerScheme('ACME+QUEUE://h:1')).toBe('acme+queue');
      const transport = await transportFromUrl('acme+queue://h:1/x');
      expect(transport).toBeInstanceOf(MemoryTransport);
      expect(opened).toEqual(['acme+queue://h:1/x']);
      registerTransport('acme+queue', factory); // the same factory again is harmless
      expect(() => registerTransport('acme+queue', () => new MemoryTransport())).toThrow(
        /already registered/,
      );
    } finally {
      expect(unregisterTransport('acme+queue')).toBe(true);
    }
    await expect(transportFromUrl('acme+queue://h:1')).rejects.toThrow(InvalidBrokerUrlError);
  });

  it('takes precedence over a package Conveyor knows', async () => {
    const mine = new MemoryTransport({ broker: uniqueBroker() });
    registerTransport('kafka', () => mine);
    try {
      expect(await transportFromUrl('kafka://localhost:9092')).toBe(mine);
    } finally {
      unregisterTransport('kafka');
    }
  });

  it('refuses a bad scheme, memory, and a factory that is not a function, naming the option', () => {
    const option = (name: string) => (error: unknown) =>
      error instanceof InvalidOptionError && error.option === name;
    expect(() => registerTransport('no spaces', () => new MemoryTransport())).toThrow(
      expect.objectContaining({ option: 'scheme' }),
    );
    let caught: unknown;
    try {
      registerTransport('memory', () => new MemoryTransport());
    } catch (error) {
      caught = error;
    }
    expect(option('scheme')(caught)).toBe(true);
    try {
      registerTransport('acme', 'not a function' as unknown as () => MemoryTransport);
    } catch (error) {
      caught = error;
    }
    expect(option('factory')(caught)).toBe(true);
  });

  it('is shared through globalThis, so a second copy of core sees the same registrations', async () => {
    registerTransport('acme+shared', () => new MemoryTransport());
    try {
      const registry = (globalThis as Record<symbol, Map<string, unknown>>)[
        Symbol.for('@conveyor/core:transport-registry')
      ];
      expect(registry?.has('acme+shared')).toBe(true);
    } finally {
      unregisterTransport('acme+shared');
    }
  });
});
