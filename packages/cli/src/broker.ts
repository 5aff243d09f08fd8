import {
  BrokerConnectionError,
  brokerScheme,
  type ResultBackend,
  redactUrl,
  resultBackendFromUrl,
  type Transport,
  transportFromUrl,
} from '@conveyor/core';
import { required } from './args.js';
import { isConveyorError } from './errors.js';
import type { Io } from './output.js';

/** Environment variable read when `--broker` is not given (keeps passwords out of `ps`). */
export const BROKER_ENV = 'CONVEYOR_BROKER_URL';

/** Help text of the `--broker` option, shared by every command. */
export const BROKER_OPTION_HELP = `broker URL, e.g. memory:// or redis://host:6379 (default: $${BROKER_ENV})`;

/** Environment variable read when `--results` is not given. */
export const RESULTS_ENV = 'CONVEYOR_RESULT_BACKEND';

/** Help text of the `--results` option. */
export const RESULTS_OPTION_HELP = `result backend URL, Celery's result_backend, e.g. redis://host:6379/1 (default: $${RESULTS_ENV})`;

/** The result backend URL from `--results` or the environment; undefined when neither is set. */
export function resultsUrl(option: string | undefined, io: Io): string | undefined {
  const url = option ?? io.env[RESULTS_ENV];
  return url === undefined || url === '' ? undefined : url;
}

/** Opens the result backend a URL names; errors name `--results`. */
export function openResultBackend(url: string): Promise<ResultBackend> {
  return resultBackendFromUrl(url, '--results');
}

/** The broker URL from `--broker` or the environment, checked for a known scheme. */
export function brokerUrl(command: string, option: string | undefined, io: Io): string {
  const url = required(command, 'broker', option ?? io.env[BROKER_ENV], ` (or set ${BROKER_ENV})`);
  brokerScheme(url); // InvalidBrokerUrlError for a malformed URL or an unknown scheme
  return url;
}

/**
 * Opens the transport a URL names and connects it. A connection failure that a transport did not
 * already turn into a ConveyorError becomes BrokerConnectionError, so it is reported as one line.
 */
export async function connectTransport(url: string): Promise<Transport> {
  const transport = await transportFromUrl(url);
  await connect(transport, url);
  return transport;
}

/** Connects an opened transport; see connectTransport. */
export async function connect(transport: Transport, url: string): Promise<void> {
  try {
    await transport.connect();
  } catch (error) {
    await transport.close().catch(() => {});
    if (isConveyorError(error)) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new BrokerConnectionError(`cannot connect to ${redactUrl(url)}: ${detail}`, {
      cause: error,
      transport: transport.name,
    });
  }
}

/** Closes a transport or result backend, ignoring errors (on the way out of a failed command). */
export async function closeQuietly(resource: { close?(): Promise<void> } | undefined): Promise<void> {
  await resource?.close?.().catch(() => {});
}
