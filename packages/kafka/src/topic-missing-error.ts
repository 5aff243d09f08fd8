import { BrokerError, type ConveyorErrorOptions } from '@conveyor/core/transport';

/**
 * A topic does not exist and the transport was told not to create topics (`createTopics: false`,
 * for clusters where topics are provisioned by their owners).
 */
export class TopicMissingError extends BrokerError {
  /** The topics that are missing (or some of them). */
  readonly topics: readonly string[];
  constructor(topics: readonly string[], options: ConveyorErrorOptions = {}) {
    super(
      `Kafka topic ${topics.map((t) => `"${t}"`).join(', ')} does not exist and createTopics is false: create it (with its .dlq topic) or set createTopics: true`,
      options,
    );
    this.topics = topics;
  }
}
