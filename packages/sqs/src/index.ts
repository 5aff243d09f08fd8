/** @conveyor/sqs: the Amazon SQS transport (being built; see docs/transport-contract.md §8). */
export {};
