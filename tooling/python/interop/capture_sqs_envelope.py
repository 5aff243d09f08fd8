"""Capture exactly what a Python Celery client writes to SQS, before any worker consumes it.

  python capture_sqs_envelope.py                       # print the capture as JSON on stdout
  python capture_sqs_envelope.py --queue interop-capture --out samples/sqs-envelope.json

Broker: CELERY_BROKER_URL (must be sqs://, e.g. sqs://x:x@127.0.0.1:9324 for ElasticMQ), with
CELERY_TRANSPORT_OPTIONS as for the worker. Sends interop.add(2, 3) through kombu's SQS transport:

  * to the standard queue <queue>: plain, with countdown=30 + priority=6, and with countdown=30 +
    expires=120 + priority=9;
  * to <queue>.fifo (a FIFO queue): plain;
  * to <queue>.dotted@name, which kombu renames to <queue>-dotted_name (its queue-name mangling).

Then it reads every message back with boto3's own ReceiveMessage (all system and message attributes,
visibility 0 so nothing is hidden) and describes each: the SQS queue name and the attributes kombu
created it with, the raw MessageBody, the envelope after one base64 layer, and the task body after the
second. Deletes the queues afterwards. Fixed task ids keep regenerated samples comparable; origin,
reply_to, delivery_tag, eta, expires and the SQS ids still change from run to run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

VARIANTS = [
    ("plain", "", "11111111-1111-4111-8111-111111111111", {}),
    ("countdown+priority", "", "22222222-2222-4222-8222-222222222222", {"countdown": 30, "priority": 6}),
    ("countdown+expires+priority", "", "33333333-3333-4333-8333-333333333333",
     {"countdown": 30, "expires": 120, "priority": 9}),
    ("fifo", ".fifo", "44444444-4444-4444-8444-444444444444", {}),
    ("mangled-name", ".dotted@name", "55555555-5555-4555-8555-555555555555", {}),
]

# Attributes that only say when or by whom, which differ per run and per server.
VOLATILE_QUEUE_ATTRIBUTES = ("CreatedTimestamp", "LastModifiedTimestamp", "QueueArn")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--queue", default=f"conveyor-capture-{os.getpid()}")
    p.add_argument("--out", default=None, help="write the pretty-printed capture to this file")
    ns = p.parse_args()

    import boto3
    import botocore
    import celery
    import kombu

    from celery_app import app

    if not str(app.conf.broker_url).startswith("sqs://"):
        print("capture_sqs_envelope.py needs an sqs:// CELERY_BROKER_URL", file=sys.stderr)
        return 2

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        sqs = channel.sqs()
        endpoint = channel.endpoint_url

        sent = []
        for name, suffix, task_id, options in VARIANTS:
            kombu_queue = ns.queue + suffix
            app.send_task("interop.add", args=[2, 3], queue=kombu_queue, task_id=task_id, **options)
            sent.append((name, kombu_queue, channel.canonical_queue_name(kombu_queue), task_id, options))

        messages = []
        urls = set()
        received = {}
        try:
            for name, kombu_queue, sqs_queue, task_id, options in sent:
                url = sqs.get_queue_url(QueueName=sqs_queue)["QueueUrl"]
                urls.add(url)
                attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                message = receive(sqs, url, task_id, received)
                outer = base64.b64decode(message["Body"])
                envelope = json.loads(outer)
                body = base64.b64decode(envelope["body"])
                messages.append({
                    "variant": name,
                    "send_task": {"name": "interop.add", "args": [2, 3], "queue": kombu_queue,
                                  "task_id": task_id, **options},
                    "sqs_queue_name": sqs_queue,
                    "queue_attributes": {k: v for k, v in sorted(attributes.items())
                                         if k not in VOLATILE_QUEUE_ATTRIBUTES},
                    "system_attributes": message.get("Attributes", {}),
                    "message_attributes": message.get("MessageAttributes"),
                    "message_body": message["Body"],
                    "envelope_json": outer.decode("utf-8"),
                    "envelope": envelope,
                    "body_decoded": body.decode("utf-8"),
                    "body_parsed": json.loads(body),
                })
        finally:
            for url in urls:
                sqs.delete_queue(QueueUrl=url)

    capture = {
        "about": "Exact SQS messages written by a Python Celery client (send_task) through kombu's SQS "
                 "transport, read back with boto3 ReceiveMessage before any worker consumed them; "
                 "captured by tooling/python/interop/capture_sqs_envelope.py",
        "versions": {
            "celery": celery.__version__,
            "kombu": kombu.__version__,
            "boto3": boto3.__version__,
            "botocore": botocore.__version__,
            "python": platform.python_version(),
            "server_header": server_name(endpoint),
        },
        "notes": [
            "message_body is base64 of envelope_json (transport option sqs_base64_encoding, default "
            "True); the envelope's own body is base64 again: base64 inside base64.",
            "envelope_json is Python json.dumps with ', ' and ': ' separators, key order as shown.",
            "No MessageAttributes and no DelaySeconds: countdown and expires travel only as the eta "
            "and expires headers (and properties.expiration), priority only as properties.priority.",
            "A kombu queue ending in .fifo keeps the suffix; MessageGroupId is 'default' and "
            "MessageDeduplicationId a fresh uuid4 unless the properties carry them.",
            "Queue names: every punctuation character but '-' and '_' becomes '_', '.' becomes '-' "
            "(a trailing .fifo excepted); delivery_info.routing_key keeps kombu's own name.",
            "kombu creates a missing queue with VisibilityTimeout 1800 (plus FifoQueue true for .fifo).",
        ],
        "messages": messages,
    }
    text = json.dumps(capture, indent=2, ensure_ascii=False) + "\n"
    if ns.out:
        with open(ns.out, "w", encoding="utf-8") as f:
            f.write(text)
    sys.stdout.write(text)
    return 0


def receive(sqs, url, task_id, received):
    """The message of `task_id` in `url`. Every message read is kept in `received` (by task id) and
    stays hidden afterwards, so no message is received, and counted, twice."""
    deadline = time.monotonic() + 10
    while task_id not in received and time.monotonic() < deadline:
        resp = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        for message in resp.get("Messages", []):
            envelope = json.loads(base64.b64decode(message["Body"]))
            # Volatile per run and meaningless in a sample.
            for key in ("MessageId", "ReceiptHandle", "MD5OfBody"):
                message.pop(key, None)
            received[envelope["headers"]["id"]] = message
    if task_id not in received:
        raise RuntimeError(f"task {task_id} never showed up in {url}")
    return received[task_id]


def server_name(endpoint):
    """What answers at the endpoint (ElasticMQ says so in its Server header); AWS when none is set."""
    if not endpoint:
        return "aws"
    import urllib.request

    try:
        with urllib.request.urlopen(f"{endpoint}/?Action=ListQueues", timeout=5) as resp:
            return resp.headers.get("Server", "unknown")
    except Exception as exc:  # an error response still names the server
        headers = getattr(exc, "headers", None)
        return headers.get("Server", "unknown") if headers else "unknown"


if __name__ == "__main__":
    sys.exit(main())
