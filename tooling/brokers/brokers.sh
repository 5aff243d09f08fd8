#!/usr/bin/env bash
# Real brokers for Conveyor's tests on a machine without Docker.
#
#   bash tooling/brokers/brokers.sh up     [redis|redis-cluster|rabbitmq|kafka|sqs|all]   (default all)
#   bash tooling/brokers/brokers.sh down   [...]    stops only what this script started, by its PID
#   bash tooling/brokers/brokers.sh status [...]    one line per broker; exit 3 when one is down
#   bash tooling/brokers/brokers.sh reset  [...]    down, then delete that broker's data (keeps jars)
#   bash tooling/brokers/brokers.sh rabbitmqctl ARGS...   rabbitmqctl against the node started here
#
# redis 127.0.0.1:6379 | redis-cluster 127.0.0.1:7000-7002 | rabbitmq 127.0.0.1:5672 (guest/guest)
# kafka 127.0.0.1:9092 (KRaft) | sqs (ElasticMQ) http://127.0.0.1:9324
# TLS, next to them (certificates from tls-certs.sh in .conveyor/brokers/tls/): rediss 127.0.0.1:6380
# | amqps 127.0.0.1:5671 (client certificate required) | kafka SASL_SSL 127.0.0.1:9094 (SCRAM user
# conveyor / conveyor-secret) | sqs https://127.0.0.1:9325 (a TLS terminator in front of ElasticMQ)
#
# Redis and RabbitMQ come from Debian's packages (installed with apt-get when missing), Kafka and
# ElasticMQ from their official jars on Maven Central (fetched once into the state folder). A broker
# that already answers on its port is reused, whoever started it. `up` returns once every broker
# answered a real client round trip. All state lives in <repo>/.conveyor/brokers/ (git-ignored).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
STATE="$REPO/.conveyor/brokers"
ALL_BROKERS=(redis redis-cluster rabbitmq kafka sqs)

# Pinned versions. Maven artifacts are pinned in kafka/pom.xml and elasticmq/pom.xml; these copies
# are only for the messages (a check below keeps them in step with the POMs).
KAFKA_VERSION=4.1.2
ELASTICMQ_VERSION=1.7.1
MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

REDIS_PORT=6379
CLUSTER_PORTS=(7000 7001 7002)
AMQP_ADDRESS=127.0.0.1:5672
RABBITMQ_NODE=conveyor@localhost
KAFKA_ADDRESS=127.0.0.1:9092
SQS_ENDPOINT=http://127.0.0.1:9324

# TLS listeners beside the plain ones, with the certificates tls-certs.sh makes in $TLS.
TLS="$STATE/tls"
REDIS_TLS_PORT=6380
AMQPS_ADDRESS=127.0.0.1:5671
KAFKA_SASL_SSL_ADDRESS=127.0.0.1:9094
SQS_TLS_ADDRESS=127.0.0.1:9325
# The SCRAM user of Kafka's SASL_SSL listener. A test credential on loopback only, not a secret.
KAFKA_SCRAM_USER=conveyor
KAFKA_SCRAM_PASSWORD=conveyor-secret

export DEBIAN_FRONTEND=noninteractive

say() { printf 'brokers: %s\n' "$*"; }
warn() { printf 'brokers: %s\n' "$*" >&2; }
die() {
  warn "$*"
  exit 1
}
now_ms() { date +%s%3N; }
since() { # start_ms -> "1.2s"
  local ms=$(($(now_ms) - $1))
  printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

usage() {
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---- locking: one brokers.sh at a time changes things (test files call `up` in parallel) --------

take_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  if ! flock -n 9; then
    say "waiting for another brokers.sh to finish"
    flock -w 1800 9 || die "gave up waiting for $STATE/.lock"
  fi
}

# Starts a program detached from this shell (own session, stdin/stdout/stderr and the lock closed)
# and records its PID. The inner shell writes its own PID, then execs the program in place, so the
# PID is right even where setsid has to fork (a caller with job control).
launch() { # pidfile logfile command...
  local pidfile=$1 logfile=$2
  shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  for _ in $(seq 100); do
    [ -s "$pidfile" ] && return 0
    sleep 0.02
  done
  warn "no PID recorded in $pidfile for $1"
}

# A recorded PID counts as ours only while that process is alive, has `pattern` in its command line
# (a word present at every stage from launch to the final exec: the inner bash, a wrapper script,
# the program), runs in the pidfile's folder (every broker is started there), and shares this
# shell's network namespace. So a reused PID, another clone's broker or one in another network
# namespace is never taken for ours.
pid_of() { # pidfile pattern -> prints the PID when that process is alive and is what we started
  local pidfile=$1 pattern=$2 pid
  [ -s "$pidfile" ] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern" || return 1
  [ "$(readlink "/proc/$pid/cwd")" = "$(cd "$(dirname "$pidfile")" && pwd -P)" ] || return 1
  [ "$(readlink "/proc/$pid/ns/net")" = "$(readlink /proc/$$/ns/net)" ] || return 1
  echo "$pid"
}

# Stopping: SIGTERM to each process we recorded (term_pid), then wait for all of them together
# (await_stopped), so `down all` takes as long as the slowest broker, not the sum.
STOPPING=()
term_pid() { # name pidfile pattern -> 0 when it signalled a process of ours, 1 when there was none
  local name=$1 pidfile=$2 pattern=$3 pid
  if ! pid=$(pid_of "$pidfile" "$pattern"); then
    rm -f "$pidfile"
    return 1
  fi
  kill -TERM "$pid" 2>/dev/null || true
  STOPPING+=("$pid|$pidfile|$name")
}

await_stopped() {
  local start entry pid pidfile name killed=0
  start=$(now_ms)
  for entry in ${STOPPING[@]+"${STOPPING[@]}"}; do
    IFS='|' read -r pid pidfile name <<<"$entry"
    while kill -0 "$pid" 2>/dev/null; do
      if [ $killed = 0 ] && [ $(($(now_ms) - start)) -gt 60000 ]; then
        warn "$name (pid $pid) still running 60 s after SIGTERM: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      sleep 0.1
    done
    rm -f "$pidfile"
    say "$name: stopped pid $pid ($(since "$start"))"
  done
  STOPPING=()
}

# wait_for TIMEOUT_S PIDFILE PATTERN COMMAND... : polls COMMAND until it succeeds. Fails early when
# the process in PIDFILE (if given) is gone. Leaves the last output of COMMAND in $WAIT_OUTPUT.
WAIT_OUTPUT=
wait_for() {
  local timeout=$1 pidfile=$2 pattern=$3 deadline
  shift 3
  deadline=$(($(now_ms) + timeout * 1000))
  while true; do
    if WAIT_OUTPUT=$("$@" 2>&1); then return 0; fi
    if [ -n "$pidfile" ] && ! pid_of "$pidfile" "$pattern" >/dev/null; then
      WAIT_OUTPUT="the process exited. ${WAIT_OUTPUT}"
      return 1
    fi
    if [ "$(now_ms)" -gt "$deadline" ]; then
      WAIT_OUTPUT="not ready after ${timeout} s. ${WAIT_OUTPUT}"
      return 1
    fi
    sleep 0.2
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A process of ours that did not become ready is stopped, so the next `up` starts afresh instead of
# waiting on it again (ElasticMQ, for one, stays alive after failing to bind its port).
give_up() { # name pidfile pattern
  if term_pid "$@"; then
    await_stopped >/dev/null
    warn "$1: stopped the process that did not become ready"
  fi
}

FAILED=()
fail_broker() { # name reason logfile...
  local name=$1 reason=$2 file
  shift 2
  warn "$name: FAILED: $reason"
  for file in "$@"; do
    [ -f "$file" ] || continue
    warn "---- last 40 lines of $file ----"
    tail -n 40 "$file" >&2
  done
  FAILED+=("$name")
}

# ---- installing what is missing ------------------------------------------------------------------

APT_UPDATED=0
apt_install() { # packages...
  [ $# -gt 0 ] || return 0
  command -v apt-get >/dev/null || die "need $* but apt-get is missing: install them, or use docker-compose.yml"
  [ "$(id -u)" = 0 ] || die "need $* (apt-get install needs root), or use docker-compose.yml"
  local apt=(apt-get -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    local try
    for try in 1 2 3 4 5 6; do
      "${apt[@]}" update -qq 9>&- && break
      [ "$try" = 6 ] && die "apt-get update failed"
      sleep 10 # another apt run may hold the lists lock
    done
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  "${apt[@]}" install -y -qq "$@" </dev/null >"$STATE/apt.log" 2>&1 9>&- || {
    tail -n 40 "$STATE/apt.log" >&2
    die "apt-get install $* failed"
  }
}

deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }

java_major() { # java binary -> major version
  "$1" -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit }'
}

JAVA=
find_java() {
  local candidate
  for candidate in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)" \
    /usr/lib/jvm/java-17-openjdk-*/bin/java /usr/lib/jvm/java-21-openjdk-*/bin/java; do
    if [ -z "$candidate" ] || [ ! -x "$candidate" ]; then continue; fi
    if [ "$(java_major "$candidate")" -ge 17 ] 2>/dev/null; then
      JAVA=$candidate
      return 0
    fi
  done
  return 1
}

# Debian packages the selected brokers need and this machine lacks.
missing_packages() { # brokers...
  local b need_redis=0 need_java=0 pkgs=()
  for b in "$@"; do
    case $b in
      redis | redis-cluster) need_redis=1 ;;
      rabbitmq) [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || pkgs+=(rabbitmq-server) ;;
      kafka | sqs) need_java=1 ;;
    esac
  done
  command -v openssl >/dev/null || pkgs+=(openssl) # tls-certs.sh
  if [ $need_redis = 1 ] && ! { command -v redis-server && command -v redis-cli; } >/dev/null; then
    pkgs+=(redis-server)
  fi
  if [ $need_java = 1 ]; then
    find_java || pkgs+=(openjdk-17-jre-headless)
    if ! command -v mvn >/dev/null &&
      { ! jars_cached "$HERE/kafka/pom.xml" "$K/jars" || ! jars_cached "$HERE/elasticmq/pom.xml" "$S/jars"; }; then
      pkgs+=(maven)
    fi
  fi
  echo "${pkgs[@]}"
}

need_maven() {
  command -v mvn >/dev/null || apt_install maven
}

jars_cached() { # pom dest -> whether DEST holds the jars of this very POM
  [ -f "$2/.pom.sha256" ] && [ "$(cat "$2/.pom.sha256")" = "$(sha256sum "$1" | cut -d' ' -f1)" ]
}

# Copies a POM's runtime dependencies into DEST once; later runs see the stamp and do no network work.
fetch_jars() { # name pom dest
  local name=$1 pom=$2 dest=$3 sum start
  jars_cached "$pom" "$dest" && return 0
  sum=$(sha256sum "$pom" | cut -d' ' -f1)
  need_maven
  start=$(now_ms)
  say "$name: fetching jars from Maven Central ($pom)"
  rm -rf "$dest"
  mkdir -p "$dest"
  if ! JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$JAVA")")")}" mvn -B -q -f "$pom" \
    -Dmaven.repo.local="$STATE/maven-repo" "$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$dest" >"$STATE/maven.log" 2>&1 </dev/null 9>&-; then
    tail -n 40 "$STATE/maven.log" >&2
    die "$name: mvn copy-dependencies failed (log: $STATE/maven.log)"
  fi
  echo "$sum" >"$dest/.pom.sha256"
  say "$name: $(find "$dest" -name '*.jar' | wc -l) jars in $dest ($(since "$start"))"
}

check_pins() {
  grep -q "<version>$KAFKA_VERSION</version>" "$HERE/kafka/pom.xml" ||
    die "KAFKA_VERSION=$KAFKA_VERSION in brokers.sh does not match kafka/pom.xml"
  grep -q "<version>$ELASTICMQ_VERSION</version>" "$HERE/elasticmq/pom.xml" ||
    die "ELASTICMQ_VERSION=$ELASTICMQ_VERSION in brokers.sh does not match elasticmq/pom.xml"
}

probe() { PROBE_TLS_DIR="$TLS" node "$HERE/probe.mjs" "$@"; }

# ---- Redis protocol over bash's /dev/tcp (no redis-cli needed to see a broker is there) --------

redis_cmd() ( # port words... -> prints the reply; fails on no connection or an error reply
  port=$1
  shift
  exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
  printf '*%d\r\n' $# >&3
  for word in "$@"; do printf '$%d\r\n%s\r\n' "${#word}" "$word" >&3; done
  IFS= read -r -t 3 line <&3 || exit 1
  line=${line%$'\r'}
  case $line in
    +* | :*) printf '%s\n' "${line:1}" ;;
    -*)
      printf '%s\n' "${line:1}"
      exit 1
      ;;
    \$-1) exit 1 ;;
    \$*)
      IFS= read -r -t 3 -N "$((${line:1} + 2))" body <&3 || exit 1
      printf '%s\n' "${body%$'\r\n'}" | tr -d '\r'
      ;;
    *) exit 1 ;;
  esac
) 2>/dev/null

redis_ping() { [ "$(redis_cmd "$1" PING)" = PONG ]; }
redis_field() { redis_cmd "$1" "${@:3}" | awk -F: -v k="$2" '$1 == k { print $2; exit }'; }
redis_version() { redis_field "$1" redis_version INFO server; }

# ---- redis -----------------------------------------------------------------------------------------

R="$STATE/redis"
REDIS_STARTED=0

# TLS on a second port with the test certificates. Client certificates are optional: one signed by
# another CA is refused, none is fine (the password or ACL does the authentication).
REDIS_TLS_SETTINGS=(tls-port "$REDIS_TLS_PORT" tls-cert-file "$TLS/server.crt" tls-key-file "$TLS/server.key"
  tls-ca-cert-file "$TLS/ca.crt" tls-auth-clients optional)

start_redis() {
  mkdir -p "$R"
  if redis_ping "$REDIS_PORT"; then
    # Ours but started before it had TLS: Redis takes the TLS port at run time, no restart (and no
    # loss of data) needed.
    if ! port_open "$REDIS_TLS_PORT" && pid_of "$R/redis.pid" redis-server >/dev/null; then
      redis_cmd "$REDIS_PORT" CONFIG SET "${REDIS_TLS_SETTINGS[@]}" >/dev/null ||
        warn "redis: CONFIG SET of the TLS port $REDIS_TLS_PORT failed"
    fi
    return 0
  fi
  REDIS_STARTED=1
  local arg tls_args=()
  for arg in "${REDIS_TLS_SETTINGS[@]}"; do
    if [[ $arg == tls-* ]]; then tls_args+=("--$arg"); else tls_args+=("$arg"); fi
  done
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    "${tls_args[@]}" --dir "$R" --pidfile "$R/redis.pid" --logfile "$R/redis.log" 9>&- >/dev/null
}

wait_redis() {
  local start=$1
  if ! wait_for 30 "" "" redis_ping "$REDIS_PORT"; then
    fail_broker redis "no PONG on 127.0.0.1:$REDIS_PORT: $WAIT_OUTPUT" "$R/redis.log"
    return
  fi
  local tls="no TLS (not started by brokers.sh)"
  if pid_of "$R/redis.pid" redis-server >/dev/null; then
    if ! wait_for 10 "" "" probe redis-tls "127.0.0.1:$REDIS_TLS_PORT"; then
      fail_broker redis "no PONG over TLS on 127.0.0.1:$REDIS_TLS_PORT: $WAIT_OUTPUT" "$R/redis.log"
      return
    fi
    tls="rediss on 127.0.0.1:$REDIS_TLS_PORT"
  elif probe redis-tls "127.0.0.1:$REDIS_TLS_PORT" >/dev/null 2>&1; then
    tls="rediss on 127.0.0.1:$REDIS_TLS_PORT"
  fi
  say "redis: ready on 127.0.0.1:$REDIS_PORT, $tls, redis $(redis_version "$REDIS_PORT") ($(owner_redis)) ($(since "$start"))"
}

owner_redis() {
  local pid
  if pid=$(pid_of "$R/redis.pid" "redis-server"); then
    [ "$REDIS_STARTED" = 1 ] && echo "started, pid $pid" || echo "already running, pid $pid"
  else
    echo "reused: not started by brokers.sh"
  fi
}

# ---- redis-cluster ---------------------------------------------------------------------------------

C="$STATE/redis-cluster"

cluster_ok() { # every node: cluster_state:ok with all slots assigned
  local port
  for port in "${CLUSTER_PORTS[@]}"; do
    [ "$(redis_field "$port" cluster_state CLUSTER INFO)" = ok ] || return 1
    [ "$(redis_field "$port" cluster_slots_assigned CLUSTER INFO)" = 16384 ] || return 1
  done
}

start_cluster_node() { # port
  local dir="$C/$1"
  mkdir -p "$dir"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$1" --cluster-enabled yes \
    --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 5000 --save "" --appendonly no \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" 9>&- >/dev/null
}

start_redis_cluster() {
  local port
  mkdir -p "$C"
  cluster_ok && return 0
  for port in "${CLUSTER_PORTS[@]}"; do
    redis_ping "$port" || start_cluster_node "$port"
  done
}

cluster_logs() {
  local port
  for port in "${CLUSTER_PORTS[@]}"; do echo "$C/$port/redis.log"; done
  echo "$C/create.log"
}

wait_redis_cluster() {
  local start=$1 port fresh=1 ours=1 how=reused
  mapfile -t logs < <(cluster_logs)
  for port in "${CLUSTER_PORTS[@]}"; do
    if ! wait_for 30 "" "" redis_ping "$port"; then
      fail_broker redis-cluster "node 127.0.0.1:$port gives no PONG: $WAIT_OUTPUT" "${logs[@]}"
      return
    fi
  done
  if ! cluster_ok; then
    for port in "${CLUSTER_PORTS[@]}"; do
      [ "$(redis_field "$port" cluster_known_nodes CLUSTER INFO)" = 1 ] || fresh=0
      [ "$(redis_field "$port" cluster_slots_assigned CLUSTER INFO)" = 0 ] || fresh=0
      pid_of "$C/$port/redis.pid" redis-server >/dev/null || ours=0
    done
    if [ $fresh = 0 ] && ! wait_for 15 "" "" cluster_ok; then
      # Half-made or stale cluster: start over when every node is ours.
      if [ $ours = 0 ]; then
        fail_broker redis-cluster "cluster on ${CLUSTER_PORTS[*]} is not ok and not all nodes are ours" "${logs[@]}"
        return
      fi
      warn "redis-cluster: cluster state not ok, recreating it"
      for port in "${CLUSTER_PORTS[@]}"; do
        term_pid "redis-cluster node $port" "$C/$port/redis.pid" redis-server || true
      done
      await_stopped >/dev/null
      for port in "${CLUSTER_PORTS[@]}"; do
        rm -f "$C/$port/nodes.conf"
        start_cluster_node "$port"
      done
      for port in "${CLUSTER_PORTS[@]}"; do wait_for 30 "" "" redis_ping "$port" || true; done
      fresh=1
    fi
    if [ $fresh = 1 ]; then
      how=created
      local nodes=()
      for port in "${CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
      if ! redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
        >"$C/create.log" 2>&1 </dev/null; then
        fail_broker redis-cluster "redis-cli --cluster create failed" "${logs[@]}"
        return
      fi
    else
      how=restarted
    fi
    if ! wait_for 60 "" "" cluster_ok; then
      fail_broker redis-cluster "CLUSTER INFO never said cluster_state:ok on every node" "${logs[@]}"
      return
    fi
  fi
  for port in "${CLUSTER_PORTS[@]}"; do
    pid_of "$C/$port/redis.pid" redis-server >/dev/null || ours=0
  done
  [ "$ours" = 1 ] || how="reused, not started by brokers.sh"
  say "redis-cluster: ready on 127.0.0.1:${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[-1]} (3 masters, cluster_state:ok), redis $(redis_version "${CLUSTER_PORTS[0]}") ($how) ($(since "$start"))"
}

# ---- rabbitmq --------------------------------------------------------------------------------------

Q="$STATE/rabbitmq"
RABBITMQ_STARTED=0

# Runs a RabbitMQ script as this user with everything under the state folder: the node, its Erlang
# cookie ($HOME), database, logs and PID file. As root this skips Debian's /usr/sbin wrappers,
# which switch to the rabbitmq user, who may not be able to reach a clone under /root.
rabbitmq_env() { # exports; call it in a subshell
  export HOME="$Q/home" \
    RABBITMQ_NODENAME="$RABBITMQ_NODE" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="${AMQP_ADDRESS##*:}" \
    RABBITMQ_DIST_PORT=25672 \
    RABBITMQ_MNESIA_BASE="$Q/mnesia" \
    RABBITMQ_LOG_BASE="$Q/log" \
    RABBITMQ_PID_FILE="$Q/rabbitmq.pid" \
    RABBITMQ_CONFIG_FILE="$Q/rabbitmq.conf" \
    RABBITMQ_CONF_ENV_FILE="$Q/rabbitmq-env.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$Q/enabled_plugins" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    ERL_EPMD_ADDRESS=127.0.0.1
}

# The node's configuration: guest/guest on loopback is the default; an `ssl` listener on 5671 with the
# test certificates, which requires a client certificate signed by the test CA.
write_rabbitmq_conf() {
  cat >"$Q/rabbitmq.conf" <<EOF
# Written by brokers.sh on every start; edits are lost.
listeners.ssl.default = $AMQPS_ADDRESS
ssl_options.cacertfile = $TLS/ca.crt
ssl_options.certfile = $TLS/server.crt
ssl_options.keyfile = $TLS/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
EOF
}

start_rabbitmq() {
  mkdir -p "$Q/home" "$Q/mnesia" "$Q/log"
  # Ours, but started before it had TLS: the listener needs a restart (durable queues survive it).
  if ! port_open "${AMQPS_ADDRESS##*:}" && pid_of "$Q/rabbitmq.pid" rabbitmq >/dev/null &&
    probe amqp "$AMQP_ADDRESS" >/dev/null 2>&1; then
    say "rabbitmq: restarting to open the TLS listener on $AMQPS_ADDRESS"
    term_pid rabbitmq "$Q/rabbitmq.pid" rabbitmq
    await_stopped
  fi
  if probe amqp "$AMQP_ADDRESS" >/dev/null 2>&1; then return 0; fi
  if pid_of "$Q/rabbitmq.pid" rabbitmq >/dev/null; then return 0; fi # ours, still booting
  port_open "${AMQP_ADDRESS##*:}" && return 0 # someone else's, maybe still booting: wait_rabbitmq decides
  [ -f "$Q/enabled_plugins" ] || echo '[].' >"$Q/enabled_plugins"
  write_rabbitmq_conf
  : >"$Q/rabbitmq-env.conf"
  RABBITMQ_STARTED=1
  (
    cd "$Q"
    # Debian's systemd unit gives RabbitMQ 65536 descriptors; without it the node gets what this
    # shell has (often 1024, of which RabbitMQ keeps ~100 for itself).
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    rabbitmq_env
    launch "$Q/rabbitmq.pid" "$Q/stdout.log" /usr/lib/rabbitmq/bin/rabbitmq-server
  )
}

wait_rabbitmq() {
  local start=$1 pidfile="$Q/rabbitmq.pid" how
  if ! pid_of "$Q/rabbitmq.pid" rabbitmq >/dev/null && port_open "${AMQP_ADDRESS##*:}"; then
    if ! wait_for 30 "" "" probe amqp "$AMQP_ADDRESS"; then
      fail_broker rabbitmq "$AMQP_ADDRESS is taken by a process that does not answer as RabbitMQ (see: ss -ltnp): $WAIT_OUTPUT"
      return
    fi
  elif ! wait_for 120 "$pidfile" rabbitmq probe amqp "$AMQP_ADDRESS"; then
    fail_broker rabbitmq "$WAIT_OUTPUT" "$Q/stdout.log" "$Q/log/$RABBITMQ_NODE.log"
    give_up rabbitmq "$Q/rabbitmq.pid" rabbitmq
    return
  fi
  local pid plain=$WAIT_OUTPUT tls="no TLS (not started by brokers.sh)"
  if pid=$(pid_of "$Q/rabbitmq.pid" rabbitmq); then
    [ "$RABBITMQ_STARTED" = 1 ] && how="started, pid $pid" || how="already running, pid $pid"
    if ! wait_for 30 "" "" probe amqps "$AMQPS_ADDRESS"; then
      fail_broker rabbitmq "no AMQP handshake over TLS on $AMQPS_ADDRESS: $WAIT_OUTPUT" "$Q/log/$RABBITMQ_NODE.log"
      return
    fi
    tls="amqps on $AMQPS_ADDRESS"
  else
    how="reused: not started by brokers.sh"
    probe amqps "$AMQPS_ADDRESS" >/dev/null 2>&1 && tls="amqps on $AMQPS_ADDRESS"
  fi
  say "rabbitmq: ready on amqp://guest:guest@$AMQP_ADDRESS, $tls, $plain, Debian rabbitmq-server $(deb_version rabbitmq-server) ($how) ($(since "$start"))"
}

# ---- kafka -----------------------------------------------------------------------------------------

K="$STATE/kafka"
KAFKA_STARTED=0
KAFKA_JAVA_OPTS=(-Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
  -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true
  "-Dlog4j2.configurationFile=$HERE/kafka/log4j2.properties")

prepare_kafka() {
  probe kafka "$KAFKA_ADDRESS" >/dev/null 2>&1 && return 0
  fetch_jars kafka "$HERE/kafka/pom.xml" "$K/jars"
}

start_kafka() {
  mkdir -p "$K/data"
  # Ours, but started before it had the SASL_SSL listener: restart (topics and offsets survive).
  if ! port_open "${KAFKA_SASL_SSL_ADDRESS##*:}" && pid_of "$K/kafka.pid" kafka.Kafka >/dev/null &&
    probe kafka "$KAFKA_ADDRESS" >/dev/null 2>&1; then
    say "kafka: restarting to open the SASL_SSL listener on $KAFKA_SASL_SSL_ADDRESS"
    term_pid kafka "$K/kafka.pid" kafka.Kafka
    await_stopped
  fi
  if probe kafka "$KAFKA_ADDRESS" >/dev/null 2>&1; then return 0; fi
  if pid_of "$K/kafka.pid" kafka.Kafka >/dev/null; then return 0; fi # ours, still starting
  port_open "${KAFKA_ADDRESS##*:}" && return 0 # someone else's, maybe still starting: wait_kafka decides
  sed -e "s#@DATA_DIR@#$K/data#" -e "s#@TLS_DIR@#$TLS#" "$HERE/kafka/server.properties" >"$K/server.properties"
  if [ ! -f "$K/data/meta.properties" ]; then
    local cluster_id
    cluster_id=$("$JAVA" -cp "$K/jars/*" kafka.tools.StorageTool random-uuid 2>>"$K/kafka.log")
    echo "$cluster_id" >"$K/cluster-id"
    if ! "$JAVA" "${KAFKA_JAVA_OPTS[@]}" -cp "$K/jars/*" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$K/server.properties" --ignore-formatted >>"$K/kafka.log" 2>&1; then
      fail_broker kafka "kafka.tools.StorageTool format failed" "$K/kafka.log"
      return
    fi
  fi
  KAFKA_STARTED=1
  (
    cd "$K"
    launch "$K/kafka.pid" "$K/kafka.log" "$JAVA" "${KAFKA_JAVA_OPTS[@]}" -cp "$K/jars/*" kafka.Kafka "$K/server.properties"
  )
}

wait_kafka() {
  local start=$1 pidfile="$K/kafka.pid" how pid
  if ! pid_of "$K/kafka.pid" kafka.Kafka >/dev/null && port_open "${KAFKA_ADDRESS##*:}"; then
    if ! wait_for 60 "" "" probe kafka "$KAFKA_ADDRESS"; then
      fail_broker kafka "$KAFKA_ADDRESS is taken by a process that does not answer as Kafka (see: ss -ltnp): $WAIT_OUTPUT"
      return
    fi
  elif ! wait_for 180 "$pidfile" kafka.Kafka probe kafka "$KAFKA_ADDRESS"; then
    fail_broker kafka "$WAIT_OUTPUT" "$K/kafka.log"
    give_up kafka "$K/kafka.pid" kafka.Kafka
    return
  fi
  local plain=$WAIT_OUTPUT tls="no SASL_SSL (not started by brokers.sh)" scram
  if pid=$(pid_of "$K/kafka.pid" kafka.Kafka); then
    [ "$KAFKA_STARTED" = 1 ] && how="Apache Kafka $KAFKA_VERSION, started, pid $pid" ||
      how="Apache Kafka $KAFKA_VERSION, already running, pid $pid"
    if ! wait_for 30 "" "" probe tls "$KAFKA_SASL_SSL_ADDRESS"; then
      fail_broker kafka "no TLS handshake on $KAFKA_SASL_SSL_ADDRESS: $WAIT_OUTPUT" "$K/kafka.log"
      return
    fi
    # The SCRAM user lives in the cluster metadata: created once, confirmed on every `up`.
    if ! scram=$(KAFKA_SCRAM_PASSWORD="$KAFKA_SCRAM_PASSWORD" node "$HERE/kafka-scram.mjs" \
      "$KAFKA_ADDRESS" "$KAFKA_SCRAM_USER" SCRAM-SHA-512 2>&1); then
      fail_broker kafka "could not create the SCRAM user: $scram" "$K/kafka.log"
      return
    fi
    tls="SASL_SSL on $KAFKA_SASL_SSL_ADDRESS (SCRAM-SHA-512 user $KAFKA_SCRAM_USER)"
  else
    how="reused: not started by brokers.sh"
  fi
  say "kafka: ready on $KAFKA_ADDRESS (KRaft), $tls, $plain ($how) ($(since "$start"))"
}

# ---- sqs (ElasticMQ) -------------------------------------------------------------------------------

S="$STATE/sqs"
SQS_STARTED=0

prepare_sqs() {
  probe sqs "$SQS_ENDPOINT" >/dev/null 2>&1 && return 0
  fetch_jars sqs "$HERE/elasticmq/pom.xml" "$S/jars"
}

# ElasticMQ has no TLS: a small Node TLS terminator in front of it gives the https endpoint.
start_sqs_tls() {
  port_open "${SQS_TLS_ADDRESS##*:}" && return 0 # ours or someone else's: wait_sqs decides
  (
    cd "$S"
    launch "$S/tls-terminator.pid" "$S/tls-terminator.log" node "$HERE/tls-terminator.mjs" \
      "$SQS_TLS_ADDRESS" "${SQS_ENDPOINT#http://}" "$TLS/server.crt" "$TLS/server.key"
  )
}

probe_sqs_tls() { NODE_EXTRA_CA_CERTS="$TLS/ca.crt" probe sqs "https://$SQS_TLS_ADDRESS"; }

start_sqs() {
  mkdir -p "$S"
  start_sqs_tls
  if probe sqs "$SQS_ENDPOINT" >/dev/null 2>&1; then return 0; fi
  if pid_of "$S/elasticmq.pid" org.elasticmq >/dev/null; then return 0; fi # ours, still starting
  port_open "${SQS_ENDPOINT##*:}" && return 0 # someone else's, maybe still starting: wait_sqs decides
  SQS_STARTED=1
  (
    cd "$S"
    launch "$S/elasticmq.pid" "$S/elasticmq.log" "$JAVA" -Xms64m -Xmx256m -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true "-Dconfig.file=$HERE/elasticmq/elasticmq.conf" \
      -cp "$S/jars/*" org.elasticmq.server.Main
  )
}

wait_sqs() {
  local start=$1 pidfile="$S/elasticmq.pid" how pid
  if ! pid_of "$S/elasticmq.pid" org.elasticmq >/dev/null && port_open "${SQS_ENDPOINT##*:}"; then
    if ! wait_for 30 "" "" probe sqs "$SQS_ENDPOINT"; then
      fail_broker sqs "${SQS_ENDPOINT#http://} is taken by a process that does not answer as SQS (see: ss -ltnp): $WAIT_OUTPUT"
      return
    fi
  elif ! wait_for 120 "$pidfile" org.elasticmq probe sqs "$SQS_ENDPOINT"; then
    fail_broker sqs "$WAIT_OUTPUT" "$S/elasticmq.log"
    give_up sqs "$S/elasticmq.pid" org.elasticmq
    return
  fi
  if pid=$(pid_of "$S/elasticmq.pid" org.elasticmq); then
    [ "$SQS_STARTED" = 1 ] && how="ElasticMQ $ELASTICMQ_VERSION, started, pid $pid" ||
      how="ElasticMQ $ELASTICMQ_VERSION, already running, pid $pid"
  else
    how="reused: not started by brokers.sh"
  fi
  local plain=$WAIT_OUTPUT
  if ! wait_for 15 "$S/tls-terminator.pid" tls-terminator probe_sqs_tls; then
    fail_broker sqs "no ListQueues over https on $SQS_TLS_ADDRESS: $WAIT_OUTPUT" "$S/tls-terminator.log"
    give_up sqs-tls "$S/tls-terminator.pid" tls-terminator
    return
  fi
  say "sqs: ready on $SQS_ENDPOINT and https://$SQS_TLS_ADDRESS, $plain ($how) ($(since "$start"))"
}

# ---- commands --------------------------------------------------------------------------------------

BROKERS=()
select_brokers() { # args -> BROKERS (deduplicated, in the order of ALL_BROKERS)
  local name b
  [ $# -eq 0 ] && set -- all
  for name in "$@"; do
    case $name in
      all | redis | redis-cluster | rabbitmq | kafka | sqs) ;;
      *) die "unknown broker '$name' (redis, redis-cluster, rabbitmq, kafka, sqs or all)" ;;
    esac
  done
  BROKERS=()
  for b in "${ALL_BROKERS[@]}"; do
    for name in "$@"; do
      if [ "$name" = all ] || [ "$name" = "$b" ]; then
        BROKERS+=("$b")
        break
      fi
    done
  done
}

has() { # name list... -> whether name is in list
  local wanted=$1 b
  shift
  for b in "$@"; do [ "$b" = "$wanted" ] && return 0; done
  return 1
}

cmd_up() {
  local b start total pkgs
  select_brokers "$@"
  local brokers=("${BROKERS[@]}")
  total=$(now_ms)
  take_lock
  check_pins
  command -v node >/dev/null || die "node is needed for the readiness probes (the repo needs Node 20 anyway)"

  # 1. Install and fetch (sequential: apt and Maven), 2. start everything, 3. wait for each.
  pkgs=$(missing_packages "${brokers[@]}")
  # shellcheck disable=SC2086
  [ -z "$pkgs" ] || apt_install $pkgs
  if has kafka "${brokers[@]}" || has sqs "${brokers[@]}"; then
    find_java || die "no Java 17+ found after installing openjdk-17-jre-headless"
  fi
  has redis "${brokers[@]}" && say "redis: Debian redis-server $(deb_version redis-server)"
  has rabbitmq "${brokers[@]}" && say "rabbitmq: Debian rabbitmq-server $(deb_version rabbitmq-server)"
  has kafka "${brokers[@]}" && prepare_kafka
  has sqs "${brokers[@]}" && prepare_sqs
  # The TLS listeners' certificates (a no-op once they exist); redis-cluster has no TLS listener.
  if [ "${brokers[*]}" != redis-cluster ]; then
    bash "$HERE/tls-certs.sh" "$TLS" 9>&- || die "tls-certs.sh failed"
  fi

  start=$(now_ms)
  for b in "${brokers[@]}"; do
    case $b in
      redis) start_redis ;;
      redis-cluster) start_redis_cluster ;;
      rabbitmq) start_rabbitmq ;;
      kafka) start_kafka ;;
      sqs) start_sqs ;;
    esac
  done
  for b in "${brokers[@]}"; do
    has "$b" "${FAILED[@]}" && continue
    case $b in
      redis) wait_redis "$start" ;;
      redis-cluster) wait_redis_cluster "$start" ;;
      rabbitmq) wait_rabbitmq "$start" ;;
      kafka) wait_kafka "$start" ;;
      sqs) wait_sqs "$start" ;;
    esac
  done
  if [ ${#FAILED[@]} -gt 0 ]; then
    die "up failed for: ${FAILED[*]} (state and logs: $STATE)"
  fi
  say "up ${brokers[*]}: all ready in $(since "$total")"
}

not_ours() { # name check...
  if "${@:2}" >/dev/null 2>&1; then say "$1: left running (not started by brokers.sh)"; else say "$1: not running"; fi
}

cmd_down() {
  local b port
  select_brokers "$@"
  local brokers=("${BROKERS[@]}")
  take_lock
  for b in "${brokers[@]}"; do
    case $b in
      redis) term_pid redis "$R/redis.pid" redis-server || not_ours redis redis_ping "$REDIS_PORT" ;;
      redis-cluster)
        local stopped=0
        for port in "${CLUSTER_PORTS[@]}"; do
          term_pid "redis-cluster node $port" "$C/$port/redis.pid" redis-server && stopped=1
        done
        [ $stopped = 1 ] || not_ours redis-cluster redis_ping "${CLUSTER_PORTS[0]}"
        ;;
      rabbitmq) term_pid rabbitmq "$Q/rabbitmq.pid" rabbitmq || not_ours rabbitmq probe amqp "$AMQP_ADDRESS" ;;
      kafka) term_pid kafka "$K/kafka.pid" kafka.Kafka || not_ours kafka probe kafka "$KAFKA_ADDRESS" ;;
      sqs)
        term_pid sqs-tls "$S/tls-terminator.pid" tls-terminator || true
        term_pid sqs "$S/elasticmq.pid" org.elasticmq || not_ours sqs probe sqs "$SQS_ENDPOINT"
        ;;
    esac
  done
  await_stopped
}

status_line() { # name state address detail
  printf '%-14s %-5s %-32s %s\n' "$@"
}

owner() { # pidfile pattern
  local pid
  if pid=$(pid_of "$1" "$2"); then echo "pid $pid, started by brokers.sh"; else echo "not started by brokers.sh"; fi
}

# One line for a TLS listener: up when the probe answers over TLS with the test CA.
tls_status() { # name address detail probe...
  local name=$1 address=$2 detail=$3 out
  shift 3
  if out=$("$@" 2>&1); then
    status_line "$name" up "$address" "$out; $detail"
  else
    status_line "$name" down "$address" "${out##*: }"
    return 1
  fi
}

cmd_status() {
  local b down=0 out port
  select_brokers "$@"
  local brokers=("${BROKERS[@]}")
  for b in "${brokers[@]}"; do
    case $b in
      redis)
        if redis_ping "$REDIS_PORT"; then
          status_line redis up "127.0.0.1:$REDIS_PORT" "redis $(redis_version "$REDIS_PORT"), $(owner "$R/redis.pid" redis-server)"
          tls_status redis-tls "rediss://127.0.0.1:$REDIS_TLS_PORT" "client certificate optional" \
            probe redis-tls "127.0.0.1:$REDIS_TLS_PORT" || down=1
        else
          status_line redis down "127.0.0.1:$REDIS_PORT" ""
          down=1
        fi
        ;;
      redis-cluster)
        if cluster_ok; then
          local pids=()
          for port in "${CLUSTER_PORTS[@]}"; do pids+=("$(pid_of "$C/$port/redis.pid" redis-server || echo '-')"); done
          status_line redis-cluster up "127.0.0.1:${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[-1]}" \
            "cluster_state:ok, redis $(redis_version "${CLUSTER_PORTS[0]}"), pids ${pids[*]}"
        else
          status_line redis-cluster down "127.0.0.1:${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[-1]}" ""
          down=1
        fi
        ;;
      rabbitmq)
        if out=$(probe amqp "$AMQP_ADDRESS" 2>&1); then
          status_line rabbitmq up "$AMQP_ADDRESS" "$out, $(owner "$Q/rabbitmq.pid" rabbitmq)"
          tls_status rabbitmq-tls "amqps://$AMQPS_ADDRESS" "client certificate required" \
            probe amqps "$AMQPS_ADDRESS" || down=1
        else
          status_line rabbitmq down "$AMQP_ADDRESS" ""
          down=1
        fi
        ;;
      kafka)
        if out=$(probe kafka "$KAFKA_ADDRESS" 2>&1); then
          status_line kafka up "$KAFKA_ADDRESS" "$out, $(owner "$K/kafka.pid" kafka.Kafka)"
          tls_status kafka-tls "SASL_SSL $KAFKA_SASL_SSL_ADDRESS" "SCRAM-SHA-512 user $KAFKA_SCRAM_USER" \
            probe tls "$KAFKA_SASL_SSL_ADDRESS" || down=1
        else
          status_line kafka down "$KAFKA_ADDRESS" ""
          down=1
        fi
        ;;
      sqs)
        if out=$(probe sqs "$SQS_ENDPOINT" 2>&1); then
          status_line sqs up "$SQS_ENDPOINT" "$out, $(owner "$S/elasticmq.pid" org.elasticmq)"
          tls_status sqs-tls "https://$SQS_TLS_ADDRESS" "TLS terminator, $(owner "$S/tls-terminator.pid" tls-terminator)" \
            probe_sqs_tls || down=1
        else
          status_line sqs down "$SQS_ENDPOINT" ""
          down=1
        fi
        ;;
    esac
  done
  [ $down = 0 ] || exit 3
}

cmd_reset() {
  local b
  select_brokers "$@"
  local brokers=("${BROKERS[@]}")
  cmd_down "${brokers[@]}"
  for b in "${brokers[@]}"; do
    case $b in
      redis) rm -rf "$R" ;;
      redis-cluster) rm -rf "$C" ;;
      rabbitmq) rm -rf "$Q" ;;
      kafka) rm -rf "$K/data" "$K/cluster-id" "$K/kafka.log" ;;
      sqs) rm -f "$S/elasticmq.log" ;;
    esac
    say "$b: data deleted"
  done
}

command=${1:-}
[ $# -gt 0 ] && shift
case $command in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  status) cmd_status "$@" ;;
  reset) cmd_reset "$@" ;;
  rabbitmqctl)
    [ -x /usr/lib/rabbitmq/bin/rabbitmqctl ] || die "rabbitmq-server is not installed"
    rabbitmq_env
    exec /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBITMQ_NODE" "$@"
    ;;
  *) usage ;;
esac
