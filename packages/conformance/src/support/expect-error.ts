import type { ConveyorErrorCode } from '@conveyor/core/transport';
import { describeError } from './reported-errors.js';

/** The class each code is thrown as, for messages a reader can act on. */
const ERROR_CLASS: Partial<Record<ConveyorErrorCode, string>> = {
  TRANSPORT_CLOSED: 'TransportClosedError',
  LEASE_LOST: 'LeaseLostError',
  INVALID_OPTION: 'InvalidOptionError',
  UNSUPPORTED_FEATURE: 'UnsupportedFeatureError',
  MESSAGE_TOO_LARGE: 'MessageTooLargeError',
};

/** `TransportClosedError (code 'TRANSPORT_CLOSED')`. */
export function errorNameOf(code: ConveyorErrorCode): string {
  const name = ERROR_CLASS[code];
  return name ? `${name} (code '${code}')` : `an error with code '${code}'`;
}

/**
 * Matches by `code`, not by class: a transport built against another copy of @conveyor/core
 * throws errors of another class with the same code, and programs branch on the code.
 */
export function hasCode(error: unknown, codes: readonly ConveyorErrorCode[]): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (codes as readonly string[]).includes(code);
}

/**
 * Runs `action` and returns why it broke the rule, or undefined when it rejected (or threw) with
 * one of `codes`. `what` names the call in plain words, e.g. `ack of a delivery after close`.
 * Waits at most `patienceMs`: a call that never settles is a failure too.
 */
export async function rejectionProblem(
  action: () => Promise<unknown>,
  codes: readonly ConveyorErrorCode[],
  what: string,
  patienceMs: number,
): Promise<string | undefined> {
  const expected = codes.map(errorNameOf).join(' or ');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), patienceMs);
  });
  try {
    const outcome = await Promise.race([Promise.resolve().then(action), hung]);
    if (outcome === 'hung')
      return `${what}: expected ${expected}, but it had not settled after ${patienceMs} ms`;
    return `${what}: expected ${expected}, but it resolved`;
  } catch (error) {
    if (hasCode(error, codes)) return undefined;
    return `${what}: expected ${expected}, but it rejected with ${describeError(error)}`;
  } finally {
    clearTimeout(timer);
  }
}

/** Like rejectionProblem, but throws the problem as the case's failure. */
export async function expectRejection(
  action: () => Promise<unknown>,
  codes: ConveyorErrorCode | readonly ConveyorErrorCode[],
  what: string,
  patienceMs: number,
): Promise<void> {
  const problem = await rejectionProblem(
    action,
    typeof codes === 'string' ? [codes] : codes,
    what,
    patienceMs,
  );
  if (problem) throw new Error(problem);
}

/** Runs `action`, which must resolve; a rejection fails the case with `what` and the error. */
export async function expectResolves<T>(action: () => Promise<T>, what: string): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new Error(`${what}: expected it to succeed, but it rejected with ${describeError(error)}`);
  }
}
