export { type DeadLetter, describeDeadLetter, fingerprint } from './dead-letter.js';
export {
  type DeadLetterFilter,
  isEmptyDeadLetterFilter,
  matchesDeadLetterFilter,
  parseDeadLetterFilter,
} from './dead-letter-filter.js';
export {
  type DeadLetterPassOptions,
  type DeadLetterPassSummary,
  type DeadLetterVerdict,
  deadLetterQueueOf,
  passOverDeadLetters,
} from './dead-letter-pass.js';
export type { DeadLetterProgress } from './dead-letter-progress.js';
export { type FindDeadLetterOptions, findDeadLetter } from './find-dead-letter.js';
export { type DeadLetterListing, type ListDeadLettersOptions, listDeadLetters } from './list-dead-letters.js';
export { type PurgeDeadLettersOptions, type PurgeReport, purgeDeadLetters } from './purge-dead-letters.js';
export { redriveCopy } from './redrive-copy.js';
export {
  type RedriveDeadLettersOptions,
  type RedriveOutcome,
  type RedriveReport,
  redriveDeadLetters,
} from './redrive-dead-letters.js';
