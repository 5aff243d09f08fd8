import { describe, expect, it } from 'vitest';
import {
  type CommandDef,
  closest,
  formatHelp,
  integerOption,
  jsonOption,
  listOption,
  parseCommand,
} from '../src/args.js';
import { buildHarness, urlFor } from '../src/commands/conformance.js';
import { UsageError } from '../src/errors.js';

const def = {
  name: 'demo',
  summary: 'a command for tests',
  usage: ['conveyor demo NAME [options]'],
  positionals: [{ name: 'NAME', description: 'a name' }],
  options: {
    broker: { type: 'string', short: 'b', placeholder: 'URL', description: 'broker' },
    queue: { type: 'string', short: 'q', multiple: true, placeholder: 'Q', description: 'queues' },
    json: { type: 'boolean', description: 'json output' },
    countdown: { type: 'string', placeholder: 'MS', description: 'delay' },
  },
} as const satisfies CommandDef;

describe('parseCommand', () => {
  it('parses long, short, inline, repeated and boolean options and positionals', () => {
    const parsed = parseCommand(def, [
      'x',
      '-b',
      'memory://',
      '--queue=a',
      '-q',
      'b',
      '--json',
      '--countdown',
      '-5',
    ]);
    expect(parsed.help).toBe(false);
    expect(parsed.positionals).toEqual(['x']);
    expect(parsed.values).toEqual({ broker: 'memory://', queue: ['a', 'b'], json: true, countdown: '-5' });
  });

  it('gives defaults for absent options', () => {
    expect(parseCommand(def, []).values).toEqual({
      broker: undefined,
      queue: [],
      json: false,
      countdown: undefined,
    });
  });

  it('reports help without validating the rest', () => {
    expect(parseCommand(def, ['--nope', '-h']).help).toBe(true);
  });

  it('refuses unknown options, missing values, values on booleans and surplus positionals', () => {
    expect(() => parseCommand(def, ['--brokr', 'x'])).toThrow(
      /unknown option --brokr .*did you mean --broker/,
    );
    expect(() => parseCommand(def, ['-z'])).toThrow(/unknown option -z/);
    expect(() => parseCommand(def, ['--broker'])).toThrow('option --broker needs a value: --broker URL');
    expect(() => parseCommand(def, ['--broker', '--json'])).toThrow('option --broker needs a value');
    expect(() => parseCommand(def, ['--json=yes'])).toThrow('option --json takes no value');
    expect(() => parseCommand(def, ['a', 'b'])).toThrow('unexpected argument "b"');
    expect(() => parseCommand(def, ['--nope'])).toThrow(UsageError);
  });
});

describe('option helpers', () => {
  it('integerOption checks integers and bounds, naming the option', () => {
    expect(integerOption('c', 'concurrency', '8', { min: 1 })).toBe(8);
    expect(integerOption('c', 'concurrency', undefined, { min: 1 })).toBeUndefined();
    expect(() => integerOption('c', 'concurrency', '0', { min: 1 })).toThrow(
      '--concurrency must be an integer >= 1, got "0"',
    );
    expect(() => integerOption('c', 'concurrency', '1.5', { min: 1 })).toThrow('--concurrency');
    expect(() => integerOption('c', 'priority', '10', { min: 0, max: 9 })).toThrow('from 0 to 9');
  });

  it('jsonOption checks JSON and its shape, naming the option', () => {
    expect(jsonOption('send', 'args', '[1, "a"]', 'array')).toEqual([1, 'a']);
    expect(jsonOption('send', 'kwargs', '{"a": 1}', 'object')).toEqual({ a: 1 });
    expect(() => jsonOption('send', 'args', '[1,', 'array')).toThrow(/^--args is not valid JSON/);
    expect(() => jsonOption('send', 'args', '3', 'array')).toThrow('--args must be a JSON array');
    expect(() => jsonOption('send', 'kwargs', 'null', 'object')).toThrow('--kwargs must be a JSON object');
  });

  it('listOption splits commas, trims and drops duplicates', () => {
    expect(listOption(['a, b', 'c,,a', ' '])).toEqual(['a', 'b', 'c']);
  });

  it('closest finds near misses only', () => {
    expect(closest('wokrer', ['worker', 'send'])).toBe('worker');
    expect(closest('zzzzzz', ['worker', 'send'])).toBeUndefined();
  });

  it('formatHelp shows usage, arguments, every option and --help', () => {
    const help = formatHelp(def);
    expect(help).toMatch(/^Usage: conveyor demo NAME \[options\]/);
    expect(help).toContain('NAME');
    expect(help).toContain('-b, --broker URL');
    expect(help).toContain('-q, --queue Q');
    expect(help).toContain('    --json');
    expect(help).toContain('-h, --help');
  });
});

describe('conformance harness over a URL', () => {
  it('passes a visibility timeout as a URL parameter and an endpoint as host and port', () => {
    expect(urlFor('memory://', {})).toBe('memory://');
    expect(urlFor('memory://', { visibilityTimeoutMs: 1000 })).toBe('memory://?visibilityTimeoutMs=1000');
    expect(urlFor('memory://b?maxMessageBytes=10', { visibilityTimeoutMs: 5 })).toBe(
      'memory://b?maxMessageBytes=10&visibilityTimeoutMs=5',
    );
    expect(urlFor('redis://:pw@broker:6380/2', { endpoint: { host: '127.0.0.1', port: 41000 } })).toBe(
      'redis://:pw@127.0.0.1:41000/2',
    );
  });

  it('gives the fault proxy an upstream only for plain TCP brokers', () => {
    expect(buildHarness('memory://', 'memory', true).upstream).toBeUndefined();
    expect(buildHarness('redis://:pw@broker', 'redis', false).upstream).toEqual({
      host: 'broker',
      port: 6379,
    });
    expect(buildHarness('amqp://broker:5673', 'amqp', false).upstream).toEqual({
      host: 'broker',
      port: 5673,
    });
    expect(buildHarness('rediss://broker', 'redis', false).upstream).toBeUndefined();
  });

  it('hides the password in the harness name and offers publishRaw only when the transport has it', () => {
    const harness = buildHarness('redis://user:pw@broker:6379', 'redis', false);
    expect(harness.name).toBe('redis (redis://user:***@broker:6379)');
    expect(harness.publishRaw).toBeUndefined();
    expect(buildHarness('memory://', 'memory', true).publishRaw).toBeTypeOf('function');
  });
});
