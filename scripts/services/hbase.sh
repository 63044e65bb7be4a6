# HBase test bed: Apache HBase 2.6 in standalone ("local") mode plus its REST gateway (Stargate),
# from jars resolved out of Maven Central (scripts/services/hbase/pom.xml) — no tarball, no Docker.
# Two plain Java processes, loopback only:
#   master  org.apache.hadoop.hbase.master.HMaster start: with hbase.cluster.distributed=false it
#           runs the master, one region server and its own ZooKeeper (127.0.0.1:$LOGRELAY_HBASE_ZK_PORT,
#           not the test bed's) in one JVM; tables are files under the service folder.
#   rest    org.apache.hadoop.hbase.rest.RESTServer start: http://127.0.0.1:$LOGRELAY_HBASE_REST_PORT,
#           a client of that ZooKeeper. What logrelay's hbase sink talks to.
#
# Sourced by scripts/services.sh after lib.sh: only defines functions (hbase_up, hbase_down,
# hbase_status, hbase_ready, plus _hbase_* helpers). Layout under $(svc_dir hbase):
#   conf/       hbase-site.xml, log4j2.properties (rewritten on every up)
#   data/       hbase.rootdir (kept across down/up)   zookeeper/  HBase's ZooKeeper data
#   master.pid master.log rest.pid rest.log (.1: the previous start's)   tmp/
# Ports: LOGRELAY_HBASE_REST_PORT, LOGRELAY_HBASE_ZK_PORT (lib.sh), LOGRELAY_HBASE_MASTER_PORT and
# LOGRELAY_HBASE_RS_PORT (16000, 16020; below). Measured here: ready 10-13 s after up (the jars
# already resolved), RSS about 200 MB (master) + 155 MB (REST gateway) after start, 305 + 185 MB
# after the hbase integration tests.
# LOGRELAY_HBASE_JAVA picks the java binary (default: as for HDFS, a Java 11/17/21);
# LOGRELAY_HBASE_START_TIMEOUT (default 120 s) bounds up.

# The master's and the region server's RPC ports (loopback; HBase's defaults). Here rather than in
# lib.sh: nothing outside this test bed talks to them.
LOGRELAY_HBASE_MASTER_PORT="${LOGRELAY_HBASE_MASTER_PORT:-16000}"
LOGRELAY_HBASE_RS_PORT="${LOGRELAY_HBASE_RS_PORT:-16020}"

_hbase_src() { printf '%s/scripts/services/hbase' "$LOGRELAY_ROOT"; }

# _hbase_alive PROC — the pid file of PROC (master|rest) names a live process AND it is ours
# (-Dproc_hbase<proc> and our conf dir on its command line), so a recycled pid never counts.
_hbase_alive() {
  local proc=$1 pid cmd
  is_running hbase "$proc" || return 1
  pid=$(cat "$(pidfile hbase "$proc")" 2>/dev/null)
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
  [[ $cmd == *"-Dproc_hbase$proc "* && $cmd == *"$(svc_dir hbase)/conf"* ]]
}

_hbase_pid() { cat "$(pidfile hbase "$1")" 2>/dev/null; }

# _hbase_java — HBase 2.6 on Hadoop 3.3: the same Java constraint as HDFS (11, 17 or 21).
_hbase_java() {
  if [ -n "${LOGRELAY_HBASE_JAVA:-}" ]; then printf '%s' "$LOGRELAY_HBASE_JAVA"; return 0; fi
  _hdfs_java
}

_hbase_write_conf() {
  local dir=$1 src; src=$(_hbase_src)
  mkdir -p "$dir/conf" "$dir/tmp" "$dir/data"
  sed -e "s|@DATA_DIR@|$dir|g" \
      -e "s|@ZK_PORT@|$LOGRELAY_HBASE_ZK_PORT|g" \
      -e "s|@REST_PORT@|$LOGRELAY_HBASE_REST_PORT|g" \
      -e "s|@MASTER_PORT@|$LOGRELAY_HBASE_MASTER_PORT|g" \
      -e "s|@RS_PORT@|$LOGRELAY_HBASE_RS_PORT|g" \
      "$src/hbase-site.xml" >"$dir/conf/hbase-site.xml.tmp" \
    && mv "$dir/conf/hbase-site.xml.tmp" "$dir/conf/hbase-site.xml"
  cp "$src/log4j2.properties" "$dir/conf/"
}

# _hbase_cmd JAVA LIB DIR PROC HEAP CLASS [ARGS...] — fill the global array _HBASE_CMD.
_hbase_cmd() {
  local java=$1 lib=$2 dir=$3 proc=$4 heap=$5; shift 5
  # HBase's shaded Netty and its off-heap code reach into jdk internals on Java 17 (the flags
  # of bin/hbase for JDK 11+), plus the usual set for Hadoop.
  local opens=(
    --add-opens=java.base/java.lang=ALL-UNNAMED
    --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens=java.base/java.io=ALL-UNNAMED
    --add-opens=java.base/java.net=ALL-UNNAMED
    --add-opens=java.base/java.nio=ALL-UNNAMED
    --add-opens=java.base/java.util=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
    --add-modules=jdk.unsupported
  )
  _HBASE_CMD=(
    "$java"
    -Dproc_hbase"$proc"                 # names the process in ps; _hbase_alive checks for it
    -Xms64m -Xmx"$heap"
    -XX:+UseSerialGC                    # 2 cores, small heap: fewer GC threads, less RSS
    -XX:+ExitOnOutOfMemoryError
    -XX:TieredStopAtLevel=1             # C1 only: faster start, less RSS; plenty for a test bed
    "${opens[@]}"
    -Djava.net.preferIPv4Stack=true
    -Dorg.apache.hbase.thirdparty.io.netty.tryReflectionSetAccessible=true
    -Dzookeeper.admin.enableServer=false
    -Dlog4j2.configurationFile="$dir/conf/log4j2.properties"
    -Dhbase.log.dir="$dir"
    -Djava.io.tmpdir="$dir/tmp"
    -cp "$dir/conf:$lib/*"              # conf first: hbase-site.xml
    "$@"
  )
}

_hbase_fail() {
  local msg=$1 dir logf; shift
  dir=$(svc_dir hbase)
  for logf in "$@"; do
    [ -f "$dir/$logf" ] || continue
    log "hbase: last lines of $dir/$logf:"
    grep -v '^\s*at ' "$dir/$logf" | tail -n 25 | cut -c1-300 | sed 's/^/    /' >&2
  done
  die "$msg (logs: $dir/)"
}

# _hbase_start PROC HEAP CLASS JAVA LIB DIR [ARGS...]
_hbase_start() {
  local proc=$1 heap=$2 class=$3 java=$4 lib=$5 dir=$6; shift 6
  _hbase_cmd "$java" "$lib" "$dir" "$proc" "$heap" "$class" "$@"
  log "hbase: starting $proc"
  [ -f "$dir/$proc.log" ] && mv -f "$dir/$proc.log" "$dir/$proc.log.1"
  ( cd "$dir" && start_bg hbase "$proc" "$dir/$proc.log" "${_HBASE_CMD[@]}" )
}

# hbase_ready — a real REST round trip: GET /status/cluster answers JSON that lists a live
# region server (so the gateway, ZooKeeper, the master and the region server all work) that
# carries hbase:meta (the master has assigned it: tables can be created). Region names are
# base64 in the JSON: aGJhc2U6bWV0YSwsMQ is "hbase:meta,,1".
hbase_ready() {
  local body
  body=$(curl -sf --max-time 5 -H 'Accept: application/json' \
    "http://127.0.0.1:$LOGRELAY_HBASE_REST_PORT/status/cluster" 2>/dev/null) || return 1
  [[ $body == *'"LiveNodes":[{'* && $body == *'"aGJhc2U6bWV0YSwsMQ'* ]]
}

hbase_up() {
  local dir java lib
  dir=$(svc_dir hbase)
  if _hbase_alive master && _hbase_alive rest && hbase_ready; then
    log "hbase: already running (REST http://127.0.0.1:$LOGRELAY_HBASE_REST_PORT)"
    return 0
  fi
  if ! _hbase_alive master; then
    local port var
    for var in LOGRELAY_HBASE_ZK_PORT LOGRELAY_HBASE_MASTER_PORT LOGRELAY_HBASE_RS_PORT; do
      port=${!var}
      if port_open "$port"; then
        die "hbase: 127.0.0.1:$port is already in use by a process this script did not start (stop it or set $var)"
      fi
    done
  fi
  if ! _hbase_alive rest && port_open "$LOGRELAY_HBASE_REST_PORT"; then
    die "hbase: 127.0.0.1:$LOGRELAY_HBASE_REST_PORT is already in use by a process this script did not start (stop it or set LOGRELAY_HBASE_REST_PORT)"
  fi
  command -v curl >/dev/null || apt_install curl

  java=$(_hbase_java) || die "hbase: no Java 11, 17 or 21 found; set LOGRELAY_HBASE_JAVA"
  lib=$(mvn_fetch hbase "$(_hbase_src)") || die "hbase: could not resolve the HBase jars"
  _hbase_write_conf "$dir"

  # Both at once: the gateway only connects to ZooKeeper on its first request, and each JVM
  # spends seconds in class loading before it needs the other.
  _hbase_alive master || _hbase_start master 512m org.apache.hadoop.hbase.master.HMaster \
    "$java" "$lib" "$dir" start
  _hbase_alive rest || _hbase_start rest 256m org.apache.hadoop.hbase.rest.RESTServer \
    "$java" "$lib" "$dir" start

  local timeout=${LOGRELAY_HBASE_START_TIMEOUT:-120}
  local deadline=$(( $(date +%s) + timeout ))
  until hbase_ready; do
    # A half-started HBase would otherwise count as running on the next up: stop what is left.
    if ! _hbase_alive master; then
      hbase_down
      _hbase_fail "hbase: the master exited during start-up" master.log
    fi
    if ! _hbase_alive rest; then
      hbase_down
      _hbase_fail "hbase: the REST gateway exited during start-up" rest.log
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      hbase_down
      _hbase_fail "hbase: not ready after ${timeout}s (GET /status/cluster lists no live region server with hbase:meta); stopped it" master.log rest.log
    fi
    sleep 0.5
  done
  log "hbase: ready, REST http://127.0.0.1:$LOGRELAY_HBASE_REST_PORT (master pid $(_hbase_pid master), rest pid $(_hbase_pid rest))"
}

# hbase_down — the gateway first, then the master (which flushes and closes its regions on TERM);
# a stale pid file (recycled pid) is just removed.
hbase_down() {
  local proc
  for proc in rest master; do
    if _hbase_alive "$proc"; then
      stop_pid hbase "$proc"
    else
      rm -f "$(pidfile hbase "$proc")"
    fi
  done
}

hbase_status() {
  if _hbase_alive master && _hbase_alive rest; then
    printf '%-10s %-8s pid %s,%s  127.0.0.1:%s (REST), 127.0.0.1:%s (its ZooKeeper)\n' hbase running \
      "$(_hbase_pid master)" "$(_hbase_pid rest)" "$LOGRELAY_HBASE_REST_PORT" "$LOGRELAY_HBASE_ZK_PORT"
    return 0
  fi
  if _hbase_alive master || _hbase_alive rest; then
    printf '%-10s %-8s master %s, rest %s\n' hbase partial \
      "$(_hbase_alive master && echo up || echo down)" "$(_hbase_alive rest && echo up || echo down)"
    return 3
  fi
  printf '%-10s stopped\n' hbase
  return 3
}
