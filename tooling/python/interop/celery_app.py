"""Celery app for the Conveyor interop tests.

Configured entirely from the environment so every transport package can reuse it:

  CELERY_BROKER_URL      broker URL (default redis://127.0.0.1:6379/0): redis://, amqp://,
                         sqs://x:x@127.0.0.1:9324 (ElasticMQ) or confluentkafka://127.0.0.1:9092
  CELERY_RESULT_BACKEND  result backend URL (default: none, i.e. the disabled backend)
  CELERY_QUEUE           default queue: what the worker consumes and send_task targets (default celery)
  CELERY_TRANSPORT_OPTIONS  optional JSON object for broker_transport_options
                            (e.g. {"visibility_timeout": 60}, {"global_keyprefix": "x:"})
  CELERY_SECURITY_KEY, CELERY_SECURITY_CERTIFICATE, CELERY_SECURITY_CERT_STORE
                         optional: paths of a PEM key, its certificate and the trusted certificates;
                         when set, tasks are signed and verified (the `auth` serializer)

JSON only (signed JSON with the CELERY_SECURITY_* variables). Task names are fixed strings
(``interop.*``) so a Conveyor worker registers the same names.
Start a worker with:  python -m celery -A celery_app worker -P solo -Q "$CELERY_QUEUE" -l info
"""

from __future__ import annotations

import json
import os
import time

from celery import Celery

QUEUE = os.environ.get("CELERY_QUEUE", "celery")

app = Celery("interop")
app.conf.update(
    broker_url=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    result_backend=os.environ.get("CELERY_RESULT_BACKEND") or None,
    task_default_queue=QUEUE,
    accept_content=["json"],
    result_accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    result_extended=False,
    worker_prefetch_multiplier=1,
    task_acks_late=True,
    enable_utc=True,
    timezone="UTC",
    # Tests start and stop workers often; don't let a dead broker hang a worker for minutes.
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=3,
    worker_hijack_root_logger=True,
    worker_redirect_stdouts=True,
)
if os.environ.get("CELERY_TRANSPORT_OPTIONS"):
    app.conf.broker_transport_options = json.loads(os.environ["CELERY_TRANSPORT_OPTIONS"])
if os.environ.get("CELERY_SECURITY_KEY"):
    # Celery's message signing (docs/signing.md): tasks are signed with this key and certificate,
    # and accepted only when signed by a certificate of the store (a file, a directory or a glob).
    app.conf.update(
        security_key=os.environ["CELERY_SECURITY_KEY"],
        security_certificate=os.environ["CELERY_SECURITY_CERTIFICATE"],
        security_cert_store=os.environ["CELERY_SECURITY_CERT_STORE"],
        task_serializer="auth",
        accept_content=["auth"],
    )
    # Results stay JSON: keep the json decoder enabled for the result backend.
    app.setup_security(allowed_serializers=["json"])


@app.task(name="interop.add")
def add(a, b):
    return a + b


@app.task(name="interop.echo")
def echo(*args, **kwargs):
    return {"args": list(args), "kwargs": kwargs}


@app.task(name="interop.fail")
def fail():
    raise ValueError("boom", 42)


@app.task(name="interop.sleep")
def sleep(n):
    time.sleep(float(n))
    return n
