// Types only: the suite itself is imported when `conveyor conformance` runs.
import type { ConformanceHarness } from '@conveyor/conformance';
import { CliError } from './errors.js';
import { importModule } from './import-module.js';

/** What a `--harness` function export receives. */
export interface HarnessModuleOptions {
  /** The `--broker` URL (or $CONVEYOR_BROKER_URL), when one is set. */
  broker: string | undefined;
}

/**
 * Loads the ConformanceHarness a `--harness` module exports, the same object a vitest file passes
 * to describeTransportConformance, so both runs take the same hooks (publishRaw, upstream,
 * queueName, cleanup, scale, patienceMs). The module's default export, or else its `harness`
 * export, is either the harness or a function returning one (possibly async), called with the
 * broker URL. `brokerGiven` says whether `--broker` was given on the command line: a harness
 * object cannot take it, which is refused rather than ignored.
 */
export async function loadHarness(
  specifier: string,
  cwd: string,
  options: HarnessModuleOptions & { brokerGiven: boolean },
): Promise<ConformanceHarness> {
  const mod = await importModule(specifier, cwd, '--harness');
  const exported = mod.default ?? mod.harness;
  if (exported === undefined) {
    throw new CliError(
      'INVALID_OPTION',
      `--harness: ${specifier} has no default or "harness" export: export a conformance harness ({ name, createTransport, ... }) or a function returning one`,
    );
  }
  let harness: unknown = exported;
  if (typeof exported === 'function') {
    harness = await (exported as (options: HarnessModuleOptions) => unknown)({ broker: options.broker });
  } else if (options.brokerGiven) {
    throw new CliError(
      'INVALID_OPTION',
      `--broker: the harness of ${specifier} is an object that opens its own transports; drop --broker, or export a function ({ broker }) => harness`,
    );
  }
  return checkHarness(harness, specifier);
}

const OPTIONAL_FUNCTIONS = ['publishRaw', 'queueName', 'cleanup'] as const;
const OPTIONAL_NUMBERS = ['scale', 'patienceMs'] as const;

/** Refuses, naming the field, a harness the suite would trip over halfway through a run. */
function checkHarness(value: unknown, specifier: string): ConformanceHarness {
  const fail = (problem: string): never => {
    throw new CliError('INVALID_OPTION', `--harness: the harness of ${specifier} ${problem}`);
  };
  if (typeof value !== 'object' || value === null) return fail('is not an object');
  const harness = value as Record<string, unknown>;
  if (typeof harness.name !== 'string' || harness.name === '') fail('has no "name" (a non-empty string)');
  if (typeof harness.createTransport !== 'function') fail('has no "createTransport" function');
  for (const key of OPTIONAL_FUNCTIONS) {
    if (harness[key] !== undefined && typeof harness[key] !== 'function')
      fail(`has a "${key}" that is not a function`);
  }
  for (const key of OPTIONAL_NUMBERS) {
    const n = harness[key];
    if (n !== undefined && !(typeof n === 'number' && Number.isFinite(n) && n > 0)) {
      fail(`has a "${key}" that is not a positive number`);
    }
  }
  const upstream = harness.upstream as { host?: unknown; port?: unknown } | undefined;
  if (upstream !== undefined && (typeof upstream?.host !== 'string' || !Number.isInteger(upstream.port))) {
    fail('has an "upstream" that is not { host: string, port: number }');
  }
  return value as ConformanceHarness;
}
