/**
 * @conveyor/kafka: the Apache Kafka transport for Conveyor (kafkajs).
 */
export {};
