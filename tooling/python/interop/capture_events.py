"""Capture Celery events with Celery's own receiver (celery.events.EventReceiver) and State.

  python capture_events.py --until worker-offline@conveyor@host --timeout 30

Prints "ready." once the receiver's queue is bound (events published after that are seen), then one
JSON line per event: {"event": <the body as received>, "processed": <after the receiver's clock and
timestamp handling>, "headers", "content_type", "content_encoding", "routing_key"}. It stops after
the event named by --until (<type>@<hostname>) or after --timeout seconds, then prints one line
{"state": ...}: what celery.events.state.State (Flower's model) made of the events: each worker's
alive/processed/sw_ident, each task's state, name, args, result, exception, worker.

Broker: CELERY_BROKER_URL (celery_app.py).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--until", default=None, help="<event type>@<hostname> after which to stop")
    p.add_argument("--timeout", type=float, default=30.0)
    ns = p.parse_args()

    from celery.events.receiver import EventReceiver

    from celery_app import app

    state = app.events.State()
    until_type, _, until_host = (ns.until or "").partition("@")
    done = {"stop": False}

    def emit(line: dict) -> None:
        sys.stdout.write(json.dumps(line, default=str) + "\n")
        sys.stdout.flush()

    class Capturing(EventReceiver):
        def _receive(self, body, message, list=list, isinstance=isinstance):
            raw = copy.deepcopy(body)
            bodies = body if isinstance(body, list) else [body]
            raws = raw if isinstance(raw, list) else [raw]
            for event, original in zip(bodies, raws):
                _type, processed = self.event_from_message(event)
                state.event(processed)
                emit({
                    "event": original,
                    "processed": processed,
                    "headers": message.headers,
                    "content_type": message.content_type,
                    "content_encoding": message.content_encoding,
                    "routing_key": message.delivery_info.get("routing_key"),
                })
                if until_type and processed.get("type") == until_type and processed.get("hostname") == until_host:
                    done["stop"] = True

    deadline = time.monotonic() + ns.timeout
    with app.connection_for_read() as conn:
        recv = Capturing(conn, handlers={}, app=app)
        with recv.consumer_context() as (connection, _channel, _consumers):
            emit({"ready": True})
            sys.stdout.write("ready.\n")
            sys.stdout.flush()
            while not done["stop"] and time.monotonic() < deadline:
                try:
                    connection.drain_events(timeout=0.5)
                except socket.timeout:
                    pass
                except TimeoutError:
                    pass
    emit({"state": {
        "workers": {
            name: {"alive": w.alive, "processed": w.processed, "active": w.active, "sw_ident": w.sw_ident,
                   "sw_ver": w.sw_ver, "sw_sys": w.sw_sys, "freq": w.freq, "loadavg": w.loadavg}
            for name, w in state.workers.items()
        },
        "tasks": {
            uuid: {"state": t.state, "name": t.name, "args": t.args, "kwargs": t.kwargs, "result": t.result,
                   "exception": t.exception, "worker": t.worker.hostname if t.worker else None,
                   "retries": t.retries, "runtime": t.runtime, "eta": t.eta, "expires": t.expires,
                   "routing_key": t.routing_key}
            for uuid, t in state.tasks.items()
        },
    }})
    return 0


if __name__ == "__main__":
    sys.exit(main())
