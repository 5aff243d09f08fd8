import { InvalidOptionError } from '../errors/transport-errors.js';
import type { Transport } from '../transport/transport.js';
import type { DeadLetter } from './dead-letter.js';
import { type DeadLetterPassOptions, passOverDeadLetters } from './dead-letter-pass.js';

/** Options of findDeadLetter. */
export interface FindDeadLetterOptions extends DeadLetterPassOptions {
  /** The letter's key as listDeadLetters gives it: a task id, or `raw:<fingerprint>`. */
  key: string;
}

/**
 * Reads a dead-letter queue until the letter with `key` comes, and gives every letter back, that
 * one included. Null when the pass ends without it. Two letters with one key (a task dead-lettered
 * twice, the same garbage twice) give the first that comes.
 */
export async function findDeadLetter(
  transport: Transport,
  options: FindDeadLetterOptions,
): Promise<DeadLetter | null> {
  const key = typeof options.key === 'string' ? options.key.trim() : '';
  if (key === '') throw new InvalidOptionError('key', 'must name a letter: a task id or raw:<fingerprint>');
  const found = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, found.signal]) : found.signal;
  let letter: DeadLetter | null = null;
  await passOverDeadLetters(transport, { ...options, signal }, async (candidate) => {
    if (letter === null && (candidate.key === key || candidate.taskId === key)) {
      letter = candidate;
      found.abort();
    }
    return 'give-back';
  });
  return letter;
}
