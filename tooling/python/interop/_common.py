"""Shared helpers for the interop CLIs (send.py, get_result.py)."""

from __future__ import annotations

import json
import sys


def describe_result(res, timeout: float | None) -> dict:
    try:
        return _describe_result(res, timeout)
    finally:
        # Drop the pub/sub subscription now: if AsyncResult.__del__ does it at interpreter exit,
        # redis-py fails noisily ("sys.meta_path is None") on stderr.
        try:
            res.backend.remove_pending_result(res)
        except Exception:
            pass


def _describe_result(res, timeout: float | None) -> dict:
    """Wait for ``res`` (an AsyncResult) and describe it as a JSON-safe dict.

    ``status`` is the Celery state. On success ``result`` is the task's return value. On failure
    (or revocation) ``result`` is ``{"exc_type", "exc_message", "exc_module"}``, built from the raw
    stored document when possible (``exc_message`` is then the stored list of exception args), and
    ``traceback`` is the stored traceback text. On timeout ``status`` is the last state seen (normally
    PENDING) and ``timeout`` is true.
    """
    out: dict = {"id": res.id}
    try:
        value = res.get(timeout=timeout, propagate=False, disable_sync_subtasks=False)
    except Exception as exc:  # celery.exceptions.TimeoutError and backend errors
        from celery.exceptions import TimeoutError as CeleryTimeout

        out["status"] = res.state
        out["result"] = None
        if isinstance(exc, CeleryTimeout):
            out["timeout"] = True
        else:
            out["error"] = {"exc_type": type(exc).__name__, "exc_message": str(exc)}
        return out

    out["status"] = res.state
    if res.state in ("FAILURE", "REVOKED", "RETRY") or isinstance(value, BaseException):
        out["result"] = exception_info(res, value)
        out["traceback"] = res.traceback
    else:
        out["result"] = value
    return out


def exception_info(res, exc) -> dict:
    meta = None
    try:
        meta = res.backend.get_task_meta(res.id)
    except Exception:
        pass
    raw = meta.get("result") if isinstance(meta, dict) else None
    info = {
        "exc_type": type(exc).__name__,
        "exc_message": [safe(a) for a in getattr(exc, "args", ())],
        "exc_module": type(exc).__module__,
    }
    # The backend may hand back the stored dict itself (e.g. for an exception class it refuses to
    # import); prefer the stored fields verbatim when present.
    if isinstance(raw, dict) and "exc_type" in raw:
        info.update({k: raw[k] for k in ("exc_type", "exc_message", "exc_module") if k in raw})
    elif isinstance(exc, dict) and "exc_type" in exc:
        info.update(exc)
    info["repr"] = repr(exc)
    return info


def safe(v):
    try:
        json.dumps(v)
        return v
    except (TypeError, ValueError):
        return repr(v)


def emit(obj) -> None:
    sys.stdout.write(json.dumps(obj, default=repr) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 2) -> "NoReturn":  # noqa: F821
    emit({"error": {"exc_type": "UsageError", "exc_message": message}})
    sys.exit(code)
