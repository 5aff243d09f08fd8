import { ConveyorError, type ConveyorErrorCode, redactUrl } from '@conveyor/core';
import type { Io } from './output.js';

/**
 * A mistake on the command line: an unknown command or option, a missing or malformed value.
 * Printed as one line plus a hint (usually where to find the usage); exit code 2.
 */
export class UsageError extends ConveyorError {
  /** Printed on the line after the message, e.g. `Run "conveyor send --help" for usage.` */
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super('INVALID_OPTION', message);
    this.hint = hint;
  }
}

/** Something the CLI cannot do in this setup (a missing optional package, say); exit code 2. */
export class CliError extends ConveyorError {
  constructor(code: ConveyorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/**
 * True for Conveyor's deliberate errors, including those thrown by a transport package that
 * bundles its own copy of @conveyor/core (so `instanceof` alone is not enough).
 */
export function isConveyorError(error: unknown): error is Error & { code: string } {
  if (error instanceof ConveyorError) return true;
  if (!(error instanceof Error)) return false;
  const { code, retryable } = error as Error & { code?: unknown; retryable?: unknown };
  return typeof code === 'string' && /^[A-Z][A-Z_]+$/.test(code) && typeof retryable === 'boolean';
}

/** True when CONVEYOR_DEBUG asks for stack traces. */
export function debugEnabled(env: NodeJS.ProcessEnv): boolean {
  const value = env.CONVEYOR_DEBUG;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/**
 * Prints an error the way the CLI reports it and returns the exit code: 2 for Conveyor errors
 * (bad URL, missing transport package, unreachable broker, invalid option) with no stack trace;
 * 1 for anything unexpected, with the stack only when CONVEYOR_DEBUG=1. Broker passwords are
 * masked in every line.
 */
export function reportError(error: unknown, io: Io): 1 | 2 {
  const debug = debugEnabled(io.env);
  if (error instanceof UsageError) {
    io.err(`conveyor: ${redactUrl(error.message)}`);
    if (error.hint) io.err(error.hint);
    return 2;
  }
  if (isConveyorError(error)) {
    io.err(`conveyor: ${oneLine(error.message)}`);
    const cause = causeMessage(error);
    if (cause) io.err(`  cause: ${cause}`);
    if (debug) printStacks(error, io);
    return 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(`conveyor: unexpected error: ${oneLine(message)}`);
  if (debug) printStacks(error, io);
  else io.err('(set CONVEYOR_DEBUG=1 to print the stack trace)');
  return 1;
}

function oneLine(text: string): string {
  return redactUrl(text)
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

function causeMessage(error: Error): string | undefined {
  const cause: unknown = error.cause;
  if (cause === undefined || cause === null) return undefined;
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return text.includes(error.message) || error.message.includes(text) ? undefined : oneLine(text);
}

function printStacks(error: unknown, io: Io): void {
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const text = current instanceof Error ? (current.stack ?? current.message) : String(current);
    io.err(redactUrl(depth === 0 ? text : `caused by: ${text}`));
    current = current instanceof Error ? current.cause : undefined;
  }
}
