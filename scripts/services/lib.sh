# Shared helpers for the service scripts. Sourced, never run.
# Every service keeps its data, logs and pid file under $LOGRELAY_SERVICES_DIR/<name>/
# (git-ignored), so `down` can stop exactly what `up` started and nothing else.

LOGRELAY_ROOT="${LOGRELAY_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
LOGRELAY_SERVICES_DIR="${LOGRELAY_SERVICES_DIR:-$LOGRELAY_ROOT/.services}"
# Downloaded artifacts (Maven-resolved jars) live outside the clone so a fresh clone reuses them.
LOGRELAY_CACHE_DIR="${LOGRELAY_CACHE_DIR:-$HOME/.cache/logrelay}"

# Ports: all overridable by environment variables.
LOGRELAY_ZK_PORT="${LOGRELAY_ZK_PORT:-2181}"
LOGRELAY_ETCD_PORT="${LOGRELAY_ETCD_PORT:-2379}"
LOGRELAY_ETCD_PEER_PORT="${LOGRELAY_ETCD_PEER_PORT:-2380}"
LOGRELAY_MYSQL_PORT="${LOGRELAY_MYSQL_PORT:-3306}"
LOGRELAY_REDIS_PORT="${LOGRELAY_REDIS_PORT:-6379}"
LOGRELAY_KAFKA_PORT="${LOGRELAY_KAFKA_PORT:-9092}"
LOGRELAY_KAFKA_CONTROLLER_PORT="${LOGRELAY_KAFKA_CONTROLLER_PORT:-9093}"
LOGRELAY_HDFS_RPC_PORT="${LOGRELAY_HDFS_RPC_PORT:-8020}"
LOGRELAY_HDFS_HTTP_PORT="${LOGRELAY_HDFS_HTTP_PORT:-9870}"
LOGRELAY_HDFS_DN_HTTP_PORT="${LOGRELAY_HDFS_DN_HTTP_PORT:-9864}"
LOGRELAY_HDFS_DN_PORT="${LOGRELAY_HDFS_DN_PORT:-9866}"
LOGRELAY_HDFS_DN_IPC_PORT="${LOGRELAY_HDFS_DN_IPC_PORT:-9867}"
LOGRELAY_HIVE_METASTORE_PORT="${LOGRELAY_HIVE_METASTORE_PORT:-9083}"
LOGRELAY_MONGODB_PORT="${LOGRELAY_MONGODB_PORT:-27017}"
# Not 8080, HBase REST's usual port: `logrelay admin serve` listens there by default.
LOGRELAY_HBASE_REST_PORT="${LOGRELAY_HBASE_REST_PORT:-8090}"
# HBase in standalone mode runs its own ZooKeeper (not the test bed's): this is its port.
LOGRELAY_HBASE_ZK_PORT="${LOGRELAY_HBASE_ZK_PORT:-2182}"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

svc_dir() { local d="$LOGRELAY_SERVICES_DIR/$1"; mkdir -p "$d"; printf '%s' "$d"; }
pidfile() { printf '%s/%s.pid' "$(svc_dir "$1")" "${2:-$1}"; }

# is_running NAME [PROC] — true when the pid file names a live process.
is_running() {
  local pf; pf=$(pidfile "$1" "${2:-$1}")
  [ -f "$pf" ] || return 1
  local pid; pid=$(cat "$pf" 2>/dev/null)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# start_bg NAME PROC LOGFILE CMD... — start CMD detached in its own session, record its pid.
start_bg() {
  local name=$1 proc=$2 logfile=$3; shift 3
  local pf; pf=$(pidfile "$name" "$proc")
  setsid nohup "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pf"
}

# stop_pid NAME [PROC] — TERM the recorded process group, KILL after 20 s, remove the pid file.
stop_pid() {
  local name=$1 proc=${2:-$1}
  local pf; pf=$(pidfile "$name" "$proc")
  [ -f "$pf" ] || return 0
  local pid; pid=$(cat "$pf" 2>/dev/null)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    local i
    for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
    log "$name: stopped $proc (pid $pid)"
  fi
  rm -f "$pf"
}

# port_open PORT [HOST]
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# wait_until DESCRIPTION TIMEOUT_SECONDS CMD... — poll CMD every 0.2 s.
wait_until() {
  local desc=$1 timeout=$2; shift 2
  local deadline=$(( $(date +%s) + timeout ))
  while ! "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "timed out after ${timeout}s waiting for $desc"
      return 1
    fi
    sleep 0.2
  done
}

# apt_install PKG... — install Debian packages that are missing (one apt-get update per run).
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ -z "${_LOGRELAY_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    _LOGRELAY_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
}

# mvn_fetch NAME POM_DIR — resolve the runtime classpath of POM_DIR/pom.xml into
# $LOGRELAY_CACHE_DIR/NAME/lib (once; a marker file holds the pom's checksum).
mvn_fetch() {
  local name=$1 pomdir=$2
  local dest="$LOGRELAY_CACHE_DIR/$name"
  local sum; sum=$(sha256sum "$pomdir/pom.xml" | cut -c1-16)
  if [ -f "$dest/.resolved-$sum" ]; then printf '%s/lib' "$dest"; return 0; fi
  command -v mvn >/dev/null || apt_install maven
  log "$name: resolving jars with Maven into $dest/lib"
  rm -rf "$dest"; mkdir -p "$dest/lib"
  mvn -q -B -Dstyle.color=never -f "$pomdir/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$dest/lib" >&2 \
    || die "$name: Maven could not resolve $pomdir/pom.xml"
  touch "$dest/.resolved-$sum"
  printf '%s/lib' "$dest"
}
