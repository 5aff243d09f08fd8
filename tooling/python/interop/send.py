"""Send a Celery task by name from Python, as a real Celery client would.

  python send.py interop.add --args '[2, 3]'
  python send.py interop.echo --args '[1]' --kwargs '{"x": 2}' --queue q1 --priority 6 --countdown 5
  python send.py interop.add --args '[2, 3]' --wait 10

Broker/backend come from celery_app (CELERY_BROKER_URL, CELERY_RESULT_BACKEND, CELERY_QUEUE).

stdout (one JSON object per line):
  {"id": "<task id>"}                                   as soon as the message is published
  {"id", "status", "result"[, "traceback"][, "timeout"]} with --wait, once the result is ready
     (or the wait timed out). Failures give result = {"exc_type", "exc_message", "exc_module", "repr"},
     never a Python traceback on stderr.
Exit code: 0 when published (and, with --wait, whatever the task's state); 2 on bad usage; 1 if
publishing itself failed (then the last line is {"error": {...}}).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import describe_result, emit, fail  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", help="registered task name, e.g. interop.add")
    p.add_argument("--args", default="[]", help="JSON array of positional args")
    p.add_argument("--kwargs", default="{}", help="JSON object of keyword args")
    p.add_argument("--queue", default=None, help="target queue (default: CELERY_QUEUE or 'celery')")
    p.add_argument("--countdown", type=float, default=None, help="seconds until the task may run")
    p.add_argument("--eta", default=None, help="ISO 8601 time at which the task may run")
    p.add_argument("--expires", type=float, default=None, help="seconds until the task expires")
    p.add_argument("--priority", type=int, default=None, help="message priority (Redis: 0 is highest)")
    p.add_argument("--task-id", default=None, help="use this task id instead of a fresh uuid4")
    p.add_argument("--headers", default=None, help="JSON object of extra message headers")
    p.add_argument("--ignore-result", action="store_true", help="ask the worker not to store a result")
    p.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                   help="wait this long for the result via the result backend and print it")
    ns = p.parse_args()

    try:
        args = json.loads(ns.args)
        kwargs = json.loads(ns.kwargs)
        headers = json.loads(ns.headers) if ns.headers else None
    except json.JSONDecodeError as exc:
        fail(f"bad JSON: {exc}")
    if not isinstance(args, list):
        fail("--args must be a JSON array")
    if not isinstance(kwargs, dict):
        fail("--kwargs must be a JSON object")

    from celery_app import app

    options = {}
    for key in ("queue", "countdown", "expires", "priority", "task_id", "headers"):
        value = getattr(ns, key) if key != "headers" else headers
        if value is not None:
            options[key] = value
    if ns.eta is not None:
        from datetime import datetime

        options["eta"] = datetime.fromisoformat(ns.eta.replace("Z", "+00:00"))
    if ns.ignore_result:
        options["ignore_result"] = True
    if ns.wait is not None and app.conf.result_backend in (None, "", "disabled"):
        fail("--wait needs CELERY_RESULT_BACKEND")

    try:
        res = app.send_task(ns.task, args=args, kwargs=kwargs, **options)
    except Exception as exc:
        emit({"error": {"exc_type": type(exc).__name__, "exc_message": str(exc)}})
        return 1
    emit({"id": res.id})

    if ns.wait is not None:
        emit(describe_result(res, ns.wait))
    return 0


if __name__ == "__main__":
    sys.exit(main())
