# MongoDB test bed: mongo-java-server 1.47.0 (the MongoDB wire protocol implemented in Java, from
# Maven Central: scripts/services/mongodb/pom.xml) with its H2 MVStore backend — there is no
# MongoDB server package for Debian 12 and nothing here can download mongod. One plain Java
# process, started through scripts/services/mongodb/MongoTestServer.java (a single-file source
# program), which binds 127.0.0.1:$LOGRELAY_MONGODB_PORT only and reports MongoDB 4.4.0, wire
# version 9: the official Node.js driver 7.x refuses a server below wire version 9, and the
# server's own default is "5.0.0" with wire version 8.
#
# What it is not (see docs for the list): no authentication (no SASL/SCRAM: a client with
# credentials fails its handshake with CommandNotFound 59, labelled HandshakeError), plaintext
# (the launcher speaks TLS only when given --tls KEY CERT, as the sink's TLS test does), no
# `hello` command (drivers fall back to isMaster), no sessions or transactions (isMaster has no
# logicalSessionTimeoutMinutes), writeConcern accepted and ignored, TTL indexes created but never
# enforced, a standalone (no replica set), and an unordered insert's reply counts duplicates as
# inserted (its per-document writeErrors are right). Limits it reports: maxBsonObjectSize
# 16777216, maxWriteBatchSize 1000, maxMessageSizeBytes 48000000; namespaces up to 128 characters.
#
# Sourced by scripts/services.sh after lib.sh: only defines functions (mongodb_up, mongodb_down,
# mongodb_status, mongodb_ready, plus _mongodb_* helpers). Layout under $(svc_dir mongodb):
#   data/mongodb.mv   the H2 MVStore file: every database and collection (kept across down/up)
#   server.pid server.log (.1: the previous start's)
# LOGRELAY_MONGODB_JAVA picks the java binary (default: java on PATH, 17+);
# LOGRELAY_MONGODB_START_TIMEOUT (default 60 s) bounds up.

_mongodb_src() { printf '%s/scripts/services/mongodb' "$LOGRELAY_ROOT"; }

_mongodb_pid() { cat "$(pidfile mongodb server)" 2>/dev/null; }

# _mongodb_alive — the pid file names a live process AND it is ours (-Dproc_mongodb, the launcher
# and our service folder on its command line), so a recycled pid never counts as running.
_mongodb_alive() {
  is_running mongodb server || return 1
  local cmd
  cmd=$(tr '\0' ' ' <"/proc/$(_mongodb_pid)/cmdline" 2>/dev/null)
  [[ $cmd == *"-Dproc_mongodb "* && $cmd == *"MongoTestServer.java"* && $cmd == *"$(svc_dir mongodb)/"* ]]
}

_mongodb_java() {
  local java=${LOGRELAY_MONGODB_JAVA:-java}
  command -v "$java" >/dev/null || return 1
  # Single-file source programs need Java 11; Netty 4.2 and H2 2.3 want 17 (checked: 17.0.15).
  local major
  major=$("$java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
  [ -n "$major" ] && [ "$major" -ge 17 ] || return 1
  printf '%s' "$java"
}

_mongodb_fail() {
  local msg=$1 dir; dir=$(svc_dir mongodb)
  if [ -f "$dir/server.log" ]; then
    log "mongodb: last lines of $dir/server.log:"
    tail -n 25 "$dir/server.log" | cut -c1-300 | sed 's/^/    /' >&2
  fi
  die "$msg (logs: $dir/)"
}

# mongodb_ready — the server answers a real OP_MSG: {ping: 1, $db: "admin"} (request id 1) must
# come back as an OP_MSG (opCode 2013) answering request 1 whose body is {ok: 1.0}. That proves
# the wire protocol and the backend, not just an open port. A few ms.
mongodb_ready() {
  local got
  got=$(timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    # Header: length 51, requestID 1, responseTo 0, opCode 2013; flagBits 0; section kind 0;
    # BSON {ping: int32 1, $db: "admin"} (30 bytes).
    printf "\x33\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00\x1e\x00\x00\x00\x10ping\x00\x01\x00\x00\x00\x02\$db\x00\x06\x00\x00\x00admin\x00\x00" >&3
    len=$(head -c 4 <&3 | od -An -tu4 | tr -d " ")
    [ -n "$len" ] && [ "$len" -gt 16 ] && [ "$len" -lt 65536 ] || exit 1
    head -c $((len - 4)) <&3' _ "$LOGRELAY_MONGODB_PORT" 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
  # requestID (any) responseTo=1 opCode=2013, then flagBits, kind 0, a document with ok: 1.0.
  [[ $got == ????????01000000dd070000* && $got == *016f6b00000000000000f03f* ]]
}

mongodb_up() {
  local dir java lib
  dir=$(svc_dir mongodb)
  if _mongodb_alive && mongodb_ready; then
    log "mongodb: already running (mongodb://127.0.0.1:$LOGRELAY_MONGODB_PORT)"
    return 0
  fi
  if ! _mongodb_alive && port_open "$LOGRELAY_MONGODB_PORT"; then
    die "mongodb: 127.0.0.1:$LOGRELAY_MONGODB_PORT is already in use by a process this script did not start (stop it or set LOGRELAY_MONGODB_PORT)"
  fi
  java=$(_mongodb_java) || die "mongodb: no Java 17+ found; set LOGRELAY_MONGODB_JAVA"
  lib=$(mvn_fetch mongodb "$(_mongodb_src)") || die "mongodb: could not resolve the server's jars"

  if ! _mongodb_alive; then
    mkdir -p "$dir/data" "$dir/tmp"
    [ -f "$dir/server.log" ] && mv -f "$dir/server.log" "$dir/server.log.1"
    log "mongodb: starting mongo-java-server (store $dir/data/mongodb.mv)"
    # 1 GB: mongo-java-server answers countDocuments (an aggregation) by loading the matching
    # documents; 256 MB ran out counting the bench's 200,000 (npm run bench, BENCH_ONLY=mongodb).
    ( cd "$dir" && start_bg mongodb server "$dir/server.log" \
        "$java" -Dproc_mongodb \
        -Xms32m -Xmx1g -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
        -Djava.net.preferIPv4Stack=true -Djava.io.tmpdir="$dir/tmp" \
        -Dorg.slf4j.simpleLogger.showDateTime=true \
        -cp "$lib/*" "$(_mongodb_src)/MongoTestServer.java" \
        "$LOGRELAY_MONGODB_PORT" "$dir/data/mongodb.mv" )
  fi

  local timeout=${LOGRELAY_MONGODB_START_TIMEOUT:-60}
  local deadline=$(( $(date +%s) + timeout ))
  until mongodb_ready; do
    _mongodb_alive || _mongodb_fail "mongodb: the server exited during start-up"
    if [ "$(date +%s)" -ge "$deadline" ]; then
      stop_pid mongodb server
      _mongodb_fail "mongodb: not ready after ${timeout}s (OP_MSG ping); stopped it"
    fi
    sleep 0.2
  done
  log "mongodb: ready, mongodb://127.0.0.1:$LOGRELAY_MONGODB_PORT (pid $(_mongodb_pid))"
}

# mongodb_down — stop the server if it is ours (TERM: it closes the store cleanly); a stale pid
# file (recycled pid) is just removed.
mongodb_down() {
  if _mongodb_alive; then
    stop_pid mongodb server
  else
    rm -f "$(pidfile mongodb server)"
  fi
}

mongodb_status() {
  if _mongodb_alive; then
    printf '%-10s %-8s pid %s  127.0.0.1:%s\n' mongodb running "$(_mongodb_pid)" "$LOGRELAY_MONGODB_PORT"
    return 0
  fi
  printf '%-10s stopped\n' mongodb
  return 3
}
