import * as errors from '../../errors/index.js';

/**
 * An error as it crosses between a runner and the worker. Structured clone keeps an Error's
 * message and stack but not its class, so the class travels by name and is rebuilt on the other
 * side: a PermanentTaskError thrown in a runner is still one (and is not retried) in the worker.
 */
export interface WireError {
  name: string;
  message: string;
  stack: string | undefined;
  /** Own fields of the error that survive a structured clone (`code`, `retryable`, a library's own...). */
  fields: Record<string, unknown>;
  cause: WireError | undefined;
  /** Set when something that is not an Error was thrown: the value, as a string. */
  thrown?: string;
}

/** Error classes rebuilt by name: Conveyor's own and the built-in ones. */
const CLASSES = new Map<string, { prototype: Error }>();
for (const value of [
  ...Object.values(errors),
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
]) {
  if (typeof value === 'function' && value.prototype instanceof Error) CLASSES.set(value.name, value);
  else if (value === Error) CLASSES.set('Error', Error);
}

/** `error` in a form that structured clone carries without loss. */
export function toWireError(error: unknown, depth = 0): WireError {
  if (!(error instanceof Error)) {
    return {
      name: 'Error',
      message: String(error),
      stack: undefined,
      fields: {},
      cause: undefined,
      thrown: String(error),
    };
  }
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
    if (isCloneable(value)) fields[key] = value;
  }
  const cause = error.cause !== undefined && depth < 5 ? toWireError(error.cause, depth + 1) : undefined;
  return { name: error.name, message: error.message, stack: error.stack, fields, cause };
}

/**
 * The error again, of its own class when it is one of Conveyor's or a built-in one, else a plain
 * Error with the original `name` (which is what the result backend stores as `exc_type`). A value
 * thrown that was not an Error comes back as its string, as the in-process worker would report it.
 */
export function reviveError(wire: WireError): unknown {
  if (wire.thrown !== undefined) return wire.thrown;
  const known = CLASSES.get(wire.name);
  // The constructor is not called: its arguments (a limit, a task name) are not known here; the
  // fields it set travel in `fields`.
  const error = Object.create((known ?? Error).prototype) as Error;
  Object.defineProperty(error, 'message', { value: wire.message, writable: true, configurable: true });
  Object.defineProperty(error, 'stack', { value: wire.stack, writable: true, configurable: true });
  // An own field, as ConveyorError's constructor sets it; also the only trace of a custom class.
  Object.defineProperty(error, 'name', {
    value: wire.name,
    writable: true,
    configurable: true,
    enumerable: true,
  });
  Object.assign(error, wire.fields);
  if (wire.cause !== undefined) {
    Object.defineProperty(error, 'cause', {
      value: reviveError(wire.cause),
      writable: true,
      configurable: true,
    });
  }
  return error;
}

function isCloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return typeof value !== 'function';
  } catch {
    return false;
  }
}
