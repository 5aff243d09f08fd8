"""Capture the exact bytes a Python Celery client LPUSHes to Redis, before any worker consumes them.

  python capture_redis_envelope.py                      # print the capture as JSON on stdout
  python capture_redis_envelope.py --queue interop-capture --out samples/redis-envelope.json

Sends interop.add(2, 3) three times to a dedicated, unconsumed queue (default
conveyor-capture-<pid>): plain, with countdown=30 + priority=6, and with countdown=30 + expires=120 +
priority=9. Then LRANGEs every priority list of that queue (raw bytes, via redis-py) and describes each
message: the list key (with the \\x06\\x16 separator escaped and in hex), the raw JSON line exactly
as stored, the parsed envelope, and the base64-decoded body. Deletes the queue keys afterwards.

Broker: CELERY_BROKER_URL (must be redis://). Fixed task ids keep regenerated samples comparable;
origin, reply_to, delivery_tag, eta and expires still change from run to run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

VARIANTS = [
    ("plain", "11111111-1111-4111-8111-111111111111", {}),
    ("countdown+priority", "22222222-2222-4222-8222-222222222222", {"countdown": 30, "priority": 6}),
    ("countdown+expires+priority", "33333333-3333-4333-8333-333333333333",
     {"countdown": 30, "expires": 120, "priority": 9}),
]


def escape_key(key: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 and b != 0x5C else f"\\x{b:02x}" for b in key)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--queue", default=f"conveyor-capture-{os.getpid()}")
    p.add_argument("--out", default=None, help="write the pretty-printed capture to this file")
    ns = p.parse_args()

    import celery
    import kombu
    import redis

    from celery_app import app

    if not str(app.conf.broker_url).startswith(("redis://", "rediss://")):
        print("capture_redis_envelope.py needs a redis:// CELERY_BROKER_URL", file=sys.stderr)
        return 2

    client = redis.Redis.from_url(app.conf.broker_url)
    sep = b"\x06\x16"
    queue = ns.queue.encode()
    keys = [queue] + [queue + sep + str(p).encode() for p in (3, 6, 9)]
    client.delete(*keys)

    for _, task_id, options in VARIANTS:
        app.send_task("interop.add", args=[2, 3], queue=ns.queue, task_id=task_id, **options)

    found = {}
    for key in keys:
        for raw in client.lrange(key, 0, -1):
            env = json.loads(raw)
            found[env["headers"]["id"]] = (key, raw, env)

    messages = []
    for name, task_id, options in VARIANTS:
        key, raw, env = found[task_id]
        body = base64.b64decode(env["body"])
        messages.append({
            "variant": name,
            "send_task": {"name": "interop.add", "args": [2, 3], "queue": ns.queue, "task_id": task_id,
                          **options},
            "redis_command": "LPUSH",
            "list_key": escape_key(key),
            "list_key_hex": key.hex(),
            "raw": raw.decode("utf-8"),
            "envelope": env,
            "body_decoded": body.decode("utf-8"),
            "body_parsed": json.loads(body),
        })

    client.delete(*keys)
    client.delete(b"_kombu.binding." + queue, b"_kombu.binding_permanent." + queue)

    server = client.info("server")
    capture = {
        "about": "Exact Redis list elements written by a Python Celery client (send_task) before any "
                 "worker consumed them; captured by tooling/python/interop/capture_redis_envelope.py",
        "versions": {
            "celery": celery.__version__,
            "kombu": kombu.__version__,
            "redis_py": redis.__version__,
            "python": platform.python_version(),
            "redis_server": server.get("redis_version"),
        },
        "priority_key_rule": "priority 0-2 -> '<queue>', 3-5 -> '<queue>\\x06\\x163', "
                             "6-8 -> '<queue>\\x06\\x166', 9 -> '<queue>\\x06\\x169' "
                             "(separator = the two bytes 0x06 0x16; lower number = consumed first)",
        "notes": [
            "The stored value is one line of JSON with ', ' and ': ' separators (Python json.dumps "
            "defaults); 'raw' is that line byte for byte. Key order is as shown in 'envelope'.",
            "body is base64 of the JSON body [args, kwargs, embed]; properties.body_encoding says so.",
            "send_task keeps args as a list, so argsrepr is '[2, 3]'; Task.apply_async((2, 3)) gives '(2, 3)'.",
            "ignore_result is null (not false) from send_task.",
            "eta/expires: isoformat() in the app timezone (UTC here): 6 fraction digits and '+00:00', never 'Z'.",
            "expires=120 adds properties.expiration = '120000' (ms string) between delivery_mode and delivery_info.",
        ],
        "messages": messages,
    }
    text = json.dumps(capture, indent=2, ensure_ascii=False) + "\n"
    if ns.out:
        with open(ns.out, "w", encoding="utf-8") as f:
            f.write(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
