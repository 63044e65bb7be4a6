# Kafka test bed: one Apache Kafka broker in KRaft combined mode (broker + controller in one JVM)
# on 127.0.0.1, data under $(svc_dir kafka). Sourced by scripts/services.sh after lib.sh; it only
# defines functions (kafka_up, kafka_down, kafka_status, kafka_ready) and has no side effects.
#
# Why this way: Debian does not package Kafka and there is no Docker, but the broker is an
# ordinary set of Maven artifacts, so scripts/services/kafka/pom.xml lists them and mvn_fetch
# copies them (with Kafka's CLI tools) into a cache outside the clone. The Kafka version is the
# <kafka.version> property of that pom.
#
# Tunables (environment): LOGRELAY_KAFKA_PORT, LOGRELAY_KAFKA_CONTROLLER_PORT (from lib.sh),
# LOGRELAY_KAFKA_HEAP (default 512m), LOGRELAY_KAFKA_START_TIMEOUT (seconds, default 90),
# JAVA_HOME (else `java` on PATH; Kafka 4 brokers need Java 17+).

# Where the jars are; resolves them on first use (≈10 s, then cached).
_kafka_lib() {
  mvn_fetch kafka "$LOGRELAY_ROOT/scripts/services/kafka"
}

# The java binary to use; dies unless it is Java 17 or newer (Kafka 4.x brokers require 17).
_kafka_java() {
  local java=java
  [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && java="$JAVA_HOME/bin/java"
  command -v "$java" >/dev/null 2>&1 || die "kafka: no java found (install openjdk-17-jre-headless or set JAVA_HOME)"
  local ver
  ver=$("$java" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -n1)
  if [ -z "$ver" ] || [ "$ver" -lt 17 ]; then
    die "kafka: $java is Java ${ver:-?}; Kafka needs Java 17 or newer (set JAVA_HOME)"
  fi
  printf '%s' "$java"
}

# Pid of the broker this script started, if it is still alive and still a Kafka broker.
# (is_running alone would trust a pid file whose pid the kernel has since given to something else.)
_kafka_pid() {
  is_running kafka || return 1
  local pid; pid=$(cat "$(pidfile kafka)" 2>/dev/null)
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka ' || return 1
  printf '%s' "$pid"
}

# One raw Kafka Metadata request (v4, no topics) over bash's /dev/tcp; true when the answer
# carries our correlation id and lists at least one broker. Why: this is what a client does
# first, it takes milliseconds (a JVM tool takes ~2 s), and the broker only answers it once its
# request handlers are enabled and it is unfenced (fenced brokers are left out of the list), so
# "ready" means a client can really bootstrap. Metadata v4 is served by every broker from Kafka
# 1.0 through 4.x (KIP-896 left Metadata alone: Kafka 4.1 serves v0-v13).
_kafka_metadata_ok() {
  local port=${1:-$LOGRELAY_KAFKA_PORT} hex
  # size=20 | api_key=3 (Metadata) | version=4 | correlation_id=1 | client_id "ready"
  # | topics = empty array (none; null would mean all) | allow_auto_topic_creation=false
  # shellcheck disable=SC2016  # $1 is expanded by the inner bash
  hex=$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "\x00\x00\x00\x14\x00\x03\x00\x04\x00\x00\x00\x01\x00\x05ready\x00\x00\x00\x00\x00" >&3
    head -c 16 <&3 | od -An -tx1 -v' _ "$port" 2>/dev/null) || return 1
  # Response: size(4) correlation_id(4) throttle_time_ms(4) broker count(4) ...
  # shellcheck disable=SC2086  # split the hex dump into one positional parameter per byte
  set -- $hex
  [ $# -eq 16 ] || return 1
  [ "$5$6$7$8" = 00000001 ] || return 1
  [ $((16#${13}${14}${15}${16})) -ge 1 ]
}

# The broker configuration. Rewritten on every up so port changes take effect; the data itself
# (and the cluster id in meta.properties) lives in $dir/data and survives.
_kafka_write_props() {
  local dir=$1
  cat >"$dir/server.properties" <<EOF
# Written by scripts/services/kafka.sh on every 'up'; edits here are lost.
# KRaft combined mode: this one process is both the controller quorum (of one) and the broker.
process.roles=broker,controller
node.id=1
# A static one-voter quorum (supported by every KRaft release, 3.x and 4.x): formatting needs
# only a cluster id (no --standalone / controller.quorum.bootstrap.servers dynamic quorum).
controller.quorum.voters=1@127.0.0.1:$LOGRELAY_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$LOGRELAY_KAFKA_PORT,CONTROLLER://127.0.0.1:$LOGRELAY_KAFKA_CONTROLLER_PORT
# Clients connect to whatever the broker advertises: keep it on loopback.
advertised.listeners=PLAINTEXT://127.0.0.1:$LOGRELAY_KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data

# One broker: every internal topic must ask for one replica, or consumer groups (offsets topic)
# and transactions (transaction state topic) never become available.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Internal topics are created lazily on first group / transaction use; one partition each
# (instead of 50) keeps that first use and every broker restart cheap.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1

auto.create.topics.enable=true
num.partitions=1
# The default 3 s delay before the first rebalance of a new group only slows tests down.
group.initial.rebalance.delay.ms=0
EOF
}

# Format the storage once (KRaft refuses to start on an unformatted log dir). The marker file
# records that we did it; meta.properties is checked too in case someone emptied data/.
_kafka_format() {
  local dir=$1 java=$2 lib=$3
  if [ -f "$dir/formatted" ] && [ -f "$dir/data/meta.properties" ]; then return 0; fi
  # A cluster id is 16 random bytes in unpadded URL-safe base64 (what `StorageTool random-uuid`
  # prints); making it here saves a JVM start. Like Kafka's Uuid.randomUuid, ids starting with
  # '-' are drawn again: the tool's argument parser would take one for an option (CI failed so).
  local cid='-'
  while [ "${cid#-}" != "$cid" ]; do
    cid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  done
  log "kafka: formatting storage in $dir/data (cluster id $cid)"
  "$java" -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$lib/*" \
      kafka.tools.StorageTool format --ignore-formatted -t "$cid" -c "$dir/server.properties" \
      >>"$dir/format.log" 2>&1 \
    || die "kafka: storage format failed; see $dir/format.log"
  printf '%s\n' "$cid" >"$dir/formatted"
}

# Describe who holds a port (for the "not ours" error message).
_kafka_port_owner() {
  ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n1
}

kafka_ready() {
  _kafka_metadata_ok "$LOGRELAY_KAFKA_PORT"
}

kafka_up() {
  local dir lib java pid
  dir=$(svc_dir kafka)
  lib=$(_kafka_lib) || die "kafka: could not resolve the Kafka jars"
  # kcat (librdkafka) is the tests' independent read_committed reader and the benchmark's
  # reference producer.
  command -v kcat >/dev/null || apt_install kcat

  if pid=$(_kafka_pid); then
    if kafka_ready; then
      log "kafka: already running (pid $pid) on 127.0.0.1:$LOGRELAY_KAFKA_PORT"
      return 0
    fi
    # Ours but not answering yet (e.g. a previous up is still starting): just wait below.
    log "kafka: pid $pid is running but not ready yet; waiting"
  else
    # A stale pid file (process gone or pid reused) must not make us stop a stranger later.
    rm -f "$(pidfile kafka)"
    local p
    for p in "$LOGRELAY_KAFKA_PORT" "$LOGRELAY_KAFKA_CONTROLLER_PORT"; do
      if port_open "$p"; then
        die "kafka: 127.0.0.1:$p is already in use by a process this script did not start ($(_kafka_port_owner "$p")); stop it or set LOGRELAY_KAFKA_PORT / LOGRELAY_KAFKA_CONTROLLER_PORT"
      fi
    done

    java=$(_kafka_java) || exit 1
    _kafka_write_props "$dir"
    _kafka_format "$dir" "$java" "$lib"

    log "kafka: starting broker on 127.0.0.1:$LOGRELAY_KAFKA_PORT (log: $dir/kafka.log)"
    printf '\n===== %s kafka_up =====\n' "$(date '+%F %T')" >>"$dir/kafka.log"
    # JVM flags: a small heap (the test bed shares a 2-core machine with everything else),
    # Kafka's own G1 settings from kafka-run-class.sh, and slf4j-simple levels: INFO for the
    # broker; WARN for the per-partition/per-request loggers and for AbstractConfig, which
    # otherwise dumps ~1000 lines of config values per start (server.properties is next to it).
    start_bg kafka kafka "$dir/kafka.log" \
      "$java" "-Xms128m" "-Xmx${LOGRELAY_KAFKA_HEAP:-512m}" \
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
      -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
      -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
      -Dorg.slf4j.simpleLogger.showDateTime=true \
      "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss,SSS" \
      -Dorg.slf4j.simpleLogger.log.state.change.logger=warn \
      -Dorg.slf4j.simpleLogger.log.kafka.request.logger=warn \
      -Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients=warn \
      -Dorg.slf4j.simpleLogger.log.org.apache.kafka.common.config.AbstractConfig=warn \
      -cp "$lib/*" kafka.Kafka "$dir/server.properties"
    pid=$(cat "$(pidfile kafka)")
  fi

  # Wait for a real Metadata answer; fail fast if the JVM dies (bad config, port race...).
  local timeout=${LOGRELAY_KAFKA_START_TIMEOUT:-90} start=$SECONDS
  while ! kafka_ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$(pidfile kafka)"
      tail -n 30 "$dir/kafka.log" >&2
      die "kafka: broker exited during startup; see $dir/kafka.log"
    fi
    if [ $((SECONDS - start)) -ge "$timeout" ]; then
      tail -n 30 "$dir/kafka.log" >&2
      die "kafka: broker (pid $pid) not ready after ${timeout}s; see $dir/kafka.log (still running; kafka_down stops it)"
    fi
    sleep 0.2
  done
  log "kafka: ready on 127.0.0.1:$LOGRELAY_KAFKA_PORT (pid $pid, $((SECONDS - start))s)"
}

kafka_down() {
  # Only the pid we recorded, and only if it still is a Kafka broker.
  if _kafka_pid >/dev/null; then
    stop_pid kafka
  else
    rm -f "$(pidfile kafka)"
  fi
  return 0
}

kafka_status() {
  local pid
  if pid=$(_kafka_pid); then
    local note=""
    kafka_ready || note="  (not answering yet)"
    printf '%-10s %-8s pid %s  127.0.0.1:%s%s\n' kafka running "$pid" "$LOGRELAY_KAFKA_PORT" "$note"
    return 0
  fi
  printf '%-10s %s\n' kafka stopped
  return 3
}
