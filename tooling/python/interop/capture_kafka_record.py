"""Capture exactly what a Python Celery client writes to Kafka, and how kombu's consumer reads and commits.

  python capture_kafka_record.py                       # print the capture as JSON on stdout
  python capture_kafka_record.py --queue interop-capture --out samples/kafka-record.json

Broker: CELERY_BROKER_URL (must be confluentkafka://, e.g. confluentkafka://127.0.0.1:9092), with
CELERY_TRANSPORT_OPTIONS as for the worker. Three parts:

  1. records: sends interop.add(2, 3) through kombu's confluentkafka transport to the topic <queue>
     (plain, countdown=30 + priority=6, countdown=30 + expires=120 + priority=9) and to the kombu
     queue <queue>.at@name (kombu drops the '@'), then reads every record back with a confluent-kafka
     consumer of its own (assigned partitions, from the beginning, in a throwaway group that commits
     nothing): topic, partition, key, headers, value, the envelope and the task body, and the
     partition count kombu created the topic with.
  2. kombu_consumer: reads two records of <queue> with kombu's own channel (basic_get, as a worker's
     poll does), acks only the second, and reads the group's committed offsets back with the admin
     client: the group id, and how far one ack commits.
  3. foreign_record: creates <queue>.foreign with 3 partitions, produces a kombu envelope there with a
     key and x-conveyor-* record headers on partition 2 (what Conveyor's Kafka transport writes), and
     reads it with kombu's channel: whether a Python worker can consume such a record.

Deletes the topics and the consumer groups afterwards. Fixed task ids keep regenerated samples
comparable; origin, reply_to, delivery_tag, eta, expires and offsets still change from run to run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import sys
import time
import uuid
from queue import Empty

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

VARIANTS = [
    ("plain", "", "11111111-1111-4111-8111-111111111111", {}),
    ("countdown+priority", "", "22222222-2222-4222-8222-222222222222", {"countdown": 30, "priority": 6}),
    ("countdown+expires+priority", "", "33333333-3333-4333-8333-333333333333",
     {"countdown": 30, "expires": 120, "priority": 9}),
    ("at-sign-name", ".at@name", "44444444-4444-4444-8444-444444444444", {}),
]
FOREIGN_TASK_ID = "55555555-5555-4555-8555-555555555555"
FOREIGN_PARTITIONS = 3
FOREIGN_PARTITION = 2
FOREIGN_KEY = b"order-42"
FOREIGN_HEADERS = [("x-conveyor-delivery-count", b"1")]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--queue", default=f"conveyor-capture-{os.getpid()}")
    p.add_argument("--out", default=None, help="write the pretty-printed capture to this file")
    ns = p.parse_args()

    import celery
    import confluent_kafka
    import kombu

    from celery_app import app

    if not str(app.conf.broker_url).startswith("confluentkafka://"):
        print("capture_kafka_record.py needs a confluentkafka:// CELERY_BROKER_URL", file=sys.stderr)
        return 2

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        common = dict(channel.common_config)
        admin = channel.client
        topics = set()
        groups = set()
        try:
            records = capture_records(app, channel, admin, common, ns.queue, topics, groups)
            kombu_consumer = capture_kombu_consumer(channel, admin, ns.queue, groups)
            foreign = capture_foreign_record(channel, admin, common, f"{ns.queue}.foreign", topics, groups)
        finally:
            channel.close()
            cleanup(admin, topics, groups)

    capture = {
        "about": "Exact Kafka records written by a Python Celery client (send_task) through kombu's "
                 "confluentkafka transport, read back with a confluent-kafka consumer before any worker "
                 "consumed them; then how kombu's own consumer reads and commits; captured by "
                 "tooling/python/interop/capture_kafka_record.py",
        "versions": {
            "celery": celery.__version__,
            "kombu": kombu.__version__,
            "confluent_kafka": confluent_kafka.__version__,
            "librdkafka": confluent_kafka.libversion()[0],
            "python": platform.python_version(),
        },
        "notes": [
            "value is the envelope line exactly as on Redis (Python json.dumps, ', ' and ': ' "
            "separators), UTF-8, with no outer layer; the envelope's body is base64 of the task JSON.",
            "No key and no record headers: countdown and expires travel only as the eta and expires "
            "headers (and properties.expiration), priority only as properties.priority.",
            "The topic is the kombu queue name with '@' removed; kombu creates it with num_partitions "
            "(transport option, default 1) and replication_factor (default 1).",
            "kombu's consumer group is '<topic>-consumer-group'; an ack is Consumer.commit() with no "
            "arguments, which commits the consumer's position on every assigned partition: acking the "
            "second record of two polled commits both.",
            "kombu reads the value alone: a record with a key and x-conveyor-* headers, on any partition "
            "of a multi-partition topic, is consumed like any other.",
        ],
        **records,
        "kombu_consumer": kombu_consumer,
        "foreign_record": foreign,
    }
    text = json.dumps(capture, indent=2, ensure_ascii=False) + "\n"
    if ns.out:
        with open(ns.out, "w", encoding="utf-8") as f:
            f.write(text)
    sys.stdout.write(text)
    return 0


def capture_records(app, channel, admin, common, queue, topics, groups):
    """Part 1: send the variants, read their records back raw."""
    sent = []
    for name, suffix, task_id, options in VARIANTS:
        kombu_queue = queue + suffix
        topic = channel.sanitize_queue_name(kombu_queue)
        topics.add(topic)
        app.send_task("interop.add", args=[2, 3], queue=kombu_queue, task_id=task_id, **options)
        sent.append((name, kombu_queue, topic, task_id, options))

    raw_group = f"conveyor-capture-raw-{uuid.uuid4()}"
    groups.add(raw_group)
    raw = read_raw(common, raw_group, sorted({topic for _, _, topic, _, _ in sent}))
    metadata = admin.list_topics(timeout=10).topics
    messages = []
    for name, kombu_queue, topic, task_id, options in sent:
        record = raw[task_id]
        envelope = json.loads(record["value"])
        body = base64.b64decode(envelope["body"])
        messages.append({
            "variant": name,
            "send_task": {"name": "interop.add", "args": [2, 3], "queue": kombu_queue, "task_id": task_id,
                          **options},
            "topic": topic,
            "topic_partitions": len(metadata[topic].partitions),
            "topic_replication": len(metadata[topic].partitions[0].replicas),
            **record,
            "envelope": envelope,
            "body_decoded": body.decode("utf-8"),
            "body_parsed": json.loads(body),
        })
    return {"messages": messages}


def capture_kombu_consumer(channel, admin, queue, groups):
    """Part 2: two basic_get on <queue> (the plain and countdown+priority records), ack the second."""
    group = f"{queue}-consumer-group"
    groups.add(group)
    first = basic_get(channel, queue)
    second = basic_get(channel, queue)
    committed_before = committed_offsets(admin, group, queue)
    started = time.monotonic()
    second.ack()
    committed_after = wait_for_commit(admin, group, queue, started)
    first.ack()
    return {
        "group_id": group,
        "polled": [describe_kombu_message(first), describe_kombu_message(second)],
        "acked": "the second only",
        "committed_before_ack": committed_before,
        "committed_after_acking_the_second": committed_after["offsets"],
        "commit_visible_after_ms": committed_after["after_ms"],
    }


def capture_foreign_record(channel, admin, common, topic, topics, groups):
    """Part 3: a record as Conveyor's Kafka transport writes it, read by kombu."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import NewTopic

    topics.add(topic)
    groups.add(f"{topic}-consumer-group")
    for future in admin.create_topics([NewTopic(topic, num_partitions=FOREIGN_PARTITIONS,
                                                replication_factor=1)]).values():
        future.result(timeout=30)
    envelope = conveyor_style_envelope(topic)
    producer = Producer(common)
    producer.produce(topic, value=json.dumps(envelope).encode("utf-8"), key=FOREIGN_KEY,
                     headers=FOREIGN_HEADERS, partition=FOREIGN_PARTITION)
    producer.flush(30)
    message = basic_get(channel, topic)
    described = describe_kombu_message(message)
    message.ack()
    return {
        "topic": topic,
        "topic_partitions": FOREIGN_PARTITIONS,
        "produced": {"partition": FOREIGN_PARTITION, "key": FOREIGN_KEY.decode(),
                     "headers": [[k, v.decode()] for k, v in FOREIGN_HEADERS]},
        "kombu_read": described,
        "kombu_decoded_body": message.decode(),
    }


def conveyor_style_envelope(topic):
    """A protocol-v2 kombu envelope for interop.add(2, 3), as a non-Python producer builds it."""
    body = json.dumps([[2, 3], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}])
    return {
        "body": base64.b64encode(body.encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {"lang": "js", "task": "interop.add", "id": FOREIGN_TASK_ID, "root_id": FOREIGN_TASK_ID,
                    "parent_id": None, "group": None, "retries": 0, "eta": None, "expires": None,
                    "timelimit": [None, None], "argsrepr": "[2, 3]", "kwargsrepr": "{}",
                    "origin": "conveyor-style"},
        "properties": {"correlation_id": FOREIGN_TASK_ID, "reply_to": "", "delivery_mode": 2,
                       "delivery_info": {"exchange": "", "routing_key": topic}, "priority": 0,
                       "body_encoding": "base64", "delivery_tag": str(uuid.uuid4())},
    }


def basic_get(channel, queue, timeout=30.0):
    """kombu's own read (virtual Channel.basic_get, which a worker's poll also ends in), retried while
    the consumer joins its group and gets partitions."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            message = channel.basic_get(queue)
        except Empty:
            message = None
        if message is not None:
            return message
        if time.monotonic() > deadline:
            raise RuntimeError(f"kombu read nothing from {queue} in {timeout} s")


def describe_kombu_message(message):
    return {
        "task_id": message.headers.get("id"),
        "delivery_info": {k: v for k, v in message.delivery_info.items()},
        "delivery_tag": message.delivery_tag,
        "topic": message.topic,
    }


def committed_offsets(admin, group, topic):
    """The group's committed offset per partition of `topic` (-1001 when none), via the admin API."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in sorted(partitions)])
    result = admin.list_consumer_group_offsets([request])[group].result(timeout=10)
    return {str(tp.partition): tp.offset for tp in result.topic_partitions}


def wait_for_commit(admin, group, topic, started, timeout=10.0):
    """confluent-kafka's commit() is asynchronous by default: poll until a commit shows up."""
    while True:
        offsets = committed_offsets(admin, group, topic)
        elapsed = time.monotonic() - started
        if any(o >= 0 for o in offsets.values()) or elapsed > timeout:
            return {"offsets": offsets, "after_ms": round(elapsed * 1000)}
        time.sleep(0.05)


def read_raw(common, group, topics):
    """Every record of `topics`, by task id, read from the beginning of each partition."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({**common, "group.id": group,
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        deadline = time.monotonic() + 30
        metadata = {}
        while time.monotonic() < deadline:
            metadata = consumer.list_topics(timeout=10).topics
            if all(t in metadata and metadata[t].partitions for t in topics):
                break
            time.sleep(0.1)
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics
                         for p in sorted(metadata[t].partitions)])
        found = {}
        while time.monotonic() < deadline and len(found) < len(VARIANTS):
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            value = message.value().decode("utf-8")
            timestamp_type, _ = message.timestamp()
            found[json.loads(value)["headers"]["id"]] = {
                "partition": message.partition(),
                "offset": message.offset(),
                "key": message.key(),
                "headers": message.headers(),
                "timestamp_type": {0: "not available", 1: "create time", 2: "log append time"}
                .get(timestamp_type, timestamp_type),
                "value": value,
            }
        if len(found) < len(VARIANTS):
            raise RuntimeError(f"read {len(found)} of {len(VARIANTS)} records from {topics}")
        return found
    finally:
        consumer.close()


def cleanup(admin, topics, groups):
    for future in admin.delete_consumer_groups(sorted(groups), request_timeout=10).values() if groups else []:
        try:
            future.result(timeout=10)
        except Exception:
            pass
    if topics:
        for future in admin.delete_topics(sorted(topics), operation_timeout=30).values():
            try:
                future.result(timeout=30)
            except Exception:
                pass


if __name__ == "__main__":
    sys.exit(main())
