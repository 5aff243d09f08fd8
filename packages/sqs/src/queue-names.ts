/** The suffix SQS requires on the name of a FIFO queue. */
export const FIFO_SUFFIX = '.fifo';
/** SQS refuses queue names longer than this. */
export const MAX_QUEUE_NAME_LENGTH = 80;

const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/**
 * kombu's `entity_name`: every ASCII punctuation character but `-` and `_` becomes `_`, and `.`
 * becomes `-`; a trailing `.fifo` is kept. Python Celery computes the same name from the same
 * kombu queue name, which is what lets both share a queue.
 */
export function kombuEntityName(name: string): string {
  if (name.endsWith(FIFO_SUFFIX)) return translate(name.slice(0, -FIFO_SUFFIX.length)) + FIFO_SUFFIX;
  return translate(name);
}

function translate(name: string): string {
  let out = '';
  for (const char of name) {
    if (char === '.') out += '-';
    else if (char === '-' || char === '_') out += char;
    else if (PUNCTUATION.includes(char)) out += '_';
    else out += char;
  }
  return out;
}

/**
 * The SQS queue name of a Conveyor (kombu) queue: the prefix is prepended before mangling, as
 * kombu does (`entity_name(queue_name_prefix + name)`). On a FIFO transport a name without
 * `.fifo` gets it, so `Q.dlq` becomes `Q-dlq.fifo`.
 */
export function sqsQueueName(queue: string, prefix: string, fifo: boolean): string {
  const name = fifo && !queue.endsWith(FIFO_SUFFIX) ? queue + FIFO_SUFFIX : queue;
  return kombuEntityName(prefix + name);
}

/** True when SQS treats the (mangled) queue name as a FIFO queue. */
export function isFifoName(sqsName: string): boolean {
  return sqsName.endsWith(FIFO_SUFFIX);
}
