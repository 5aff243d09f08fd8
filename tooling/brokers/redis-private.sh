#!/usr/bin/env bash
# A private redis-server for a test that must crash or reconfigure Redis (the shared one on 6379
# is never touched): its own port and its own data folder, so a restart on the same folder
# replays what that server persisted.
#
#   bash tooling/brokers/redis-private.sh start DIR PORT [redis-server options...]   prints the PID
#   bash tooling/brokers/redis-private.sh kill DIR    SIGKILL (a crash: no shutdown, no final save)
#   bash tooling/brokers/redis-private.sh stop DIR    SIGTERM, then SIGKILL after 10 s
#
# `start` returns once the server answers PING (it fails with the log's tail otherwise). The
# server listens on 127.0.0.1 only and keeps redis.pid and redis.log in DIR. `kill` and `stop`
# signal only the PID recorded in DIR, and only while it is still a redis-server. redis-server
# comes from Debian's package, which `brokers.sh up redis` installs when it is missing.
set -euo pipefail

die() {
  printf 'redis-private: %s\n' "$*" >&2
  exit 1
}
usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# True once a process has ended. A zombie counts as ended: a daemon killed in a container whose
# init does not reap it stays a zombie, and kill -0 still reaches it.
gone() { # pid
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
  [ -z "$state" ] || [ "$state" = Z ]
}

# The recorded PID, when that process is still a running redis-server.
recorded_pid() { # dir
  local pid
  pid=$(cat "$1/redis.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = redis-server ] && ! gone "$pid" || return 1
  echo "$pid"
}

wait_gone() { # pid seconds
  local i
  for ((i = 0; i < $2 * 50; i++)); do
    gone "$1" && return 0
    sleep 0.02
  done
  return 1
}

command=${1:-}
[ $# -ge 2 ] || usage
dir=$2
shift 2

case $command in
  start)
    [ $# -ge 1 ] || usage
    port=$1
    shift
    command -v redis-server >/dev/null || die "redis-server is not installed (run: bash tooling/brokers/brokers.sh up redis)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if pid=$(recorded_pid "$dir"); then die "a redis-server (pid $pid) already runs on $dir"; fi
    rm -f "$dir/redis.pid"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir" \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "$@" >/dev/null
    for _ in $(seq 500); do
      # NOAUTH and NOPERM are answers too: the server is up (the test set a password or an ACL).
      if [[ "$(redis-cli -p "$port" PING 2>/dev/null)" =~ ^(PONG|NOAUTH|NOPERM) ]] && pid=$(recorded_pid "$dir"); then
        echo "$pid"
        exit 0
      fi
      sleep 0.02
    done
    tail -n 40 "$dir/redis.log" >&2 2>/dev/null || true
    if pid=$(recorded_pid "$dir"); then kill -KILL "$pid" 2>/dev/null || true; fi
    die "redis-server on 127.0.0.1:$port did not answer PING within 10 s"
    ;;
  kill | stop)
    pid=$(recorded_pid "$dir") || exit 0 # nothing of ours runs there
    if [ "$command" = kill ]; then
      kill -KILL "$pid"
    else
      kill -TERM "$pid"
      wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait_gone "$pid" 10 || die "redis-server pid $pid is still running"
    ;;
  *) usage ;;
esac
