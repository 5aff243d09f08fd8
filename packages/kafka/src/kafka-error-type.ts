/**
 * The Kafka protocol error type (`UNKNOWN_TOPIC_OR_PARTITION`, ...) of a kafkajs error, also when
 * kafkajs wrapped it after its own retries ran out (KafkaJSNumberOfRetriesExceeded keeps the last
 * error as its cause).
 */
export function kafkaErrorType(error: unknown): string | undefined {
  for (let e = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth += 1) {
    const { type, cause } = e as { type?: unknown; cause?: unknown };
    if (typeof type === 'string') return type;
    e = cause;
  }
  return undefined;
}
