"""Read a task result from the Celery result backend, as a real Celery client would.

  python get_result.py <task-id> [--timeout 10] [--raw]

Backend comes from celery_app (CELERY_RESULT_BACKEND). Waits up to --timeout seconds with
AsyncResult(id).get(timeout=..., propagate=False) and prints one JSON line:
  {"id", "status", "result"[, "traceback"][, "timeout"][, "meta"]}
Failures give result = {"exc_type", "exc_message", "exc_module", "repr"}.
--raw adds "meta": the stored document exactly as the backend holds it (key-value backends such as
Redis: the decoded JSON of celery-task-meta-<id>), or null if the key does not exist.
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
    p.add_argument("id", help="task id")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a ready state")
    p.add_argument("--raw", action="store_true", help="also print the raw stored result document")
    ns = p.parse_args()

    from celery_app import app

    if app.conf.result_backend in (None, "", "disabled"):
        fail("CELERY_RESULT_BACKEND is not set")
    res = app.AsyncResult(ns.id)
    out = describe_result(res, ns.timeout)
    if ns.raw:
        out["meta"] = raw_meta(app, ns.id)
    emit(out)
    return 0


def raw_meta(app, task_id):
    backend = app.backend
    if hasattr(backend, "get_key_for_task") and hasattr(backend, "get"):
        data = backend.get(backend.get_key_for_task(task_id))
        if data is None:
            return None
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        return json.loads(data)
    return backend.get_task_meta(task_id)


if __name__ == "__main__":
    sys.exit(main())
