# Hive Metastore test bed: the Apache Hive 4.0.1 standalone metastore as one plain Java process,
# from jars resolved out of Maven Central (scripts/services/hive/pom.xml) — no Hive tarball
# install, no Docker. Embedded Derby holds its database; tables and partitions it creates or checks
# live on the test bed's HDFS (fs.defaultFS = hdfs://127.0.0.1:$LOGRELAY_HDFS_RPC_PORT).
# Loopback only: Thrift (TBinaryProtocol, plain socket) on 127.0.0.1:$LOGRELAY_HIVE_METASTORE_PORT.
#
# Sourced by scripts/services.sh after lib.sh: only defines functions (hive_up, hive_down,
# hive_status, hive_ready, plus _hive_* helpers). Layout under $(svc_dir hive):
#   conf/          metastore-site.xml, core-site.xml, metastore-log4j2.properties (rewritten on
#                  every up)
#   metastore_db/  the Derby database (kept across down/up)
#   .schema        marker: the schema tool ran once; never re-initialise while it exists
#   metastore.pid metastore.log (.1: the previous start's) schematool.log derby.log
# LOGRELAY_HIVE_JAVA picks the java binary (default: as for HDFS, a Java 11/17/21);
# LOGRELAY_HIVE_START_TIMEOUT (default 90 s) bounds up.

_hive_src() { printf '%s/scripts/services/hive' "$LOGRELAY_ROOT"; }

# _hive_alive — the pid file names a live process AND it is ours (-Dproc_hivemetastore and our conf
# dir on its command line), so a recycled pid never counts as running.
_hive_alive() {
  is_running hive metastore || return 1
  local pid cmd
  pid=$(cat "$(pidfile hive metastore)" 2>/dev/null)
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
  [[ $cmd == *"-Dproc_hivemetastore "* && $cmd == *"$(svc_dir hive)/conf"* ]]
}

_hive_pid() { cat "$(pidfile hive metastore)" 2>/dev/null; }

# _hive_java — the metastore embeds the Hadoop 3.4 client, so the same Java constraint as HDFS.
_hive_java() {
  if [ -n "${LOGRELAY_HIVE_JAVA:-}" ]; then printf '%s' "$LOGRELAY_HIVE_JAVA"; return 0; fi
  _hdfs_java
}

# _hive_write_conf DIR — render the templates into DIR/conf (cheap; a port change in the
# environment takes effect on the next start).
_hive_write_conf() {
  local dir=$1 src f; src=$(_hive_src)
  mkdir -p "$dir/conf" "$dir/tmp"
  for f in metastore-site.xml core-site.xml; do
    sed -e "s|@DATA_DIR@|$dir|g" \
        -e "s|@PORT@|$LOGRELAY_HIVE_METASTORE_PORT|g" \
        -e "s|@HDFS_RPC_PORT@|$LOGRELAY_HDFS_RPC_PORT|g" \
        "$src/$f" >"$dir/conf/$f.tmp" && mv "$dir/conf/$f.tmp" "$dir/conf/$f"
  done
  cp "$src/metastore-log4j2.properties" "$dir/conf/"
}

# _hive_home LIB — a METASTORE_HOME holding scripts/metastore/upgrade/derby/ (the schema tool
# reads hive-schema-4.0.0.derby.sql there), unpacked once from the binary distribution that
# mvn_fetch put in LIB. It lives beside LIB, so a new pom (new LIB) unpacks again.
_hive_home() {
  local lib=$1 home tgz
  home="$(dirname "$lib")/home"
  if [ ! -f "$home/.unpacked" ]; then
    tgz=$(ls "$lib"/hive-standalone-metastore-server-*-bin.tar.gz 2>/dev/null | head -n 1)
    [ -n "$tgz" ] || die "hive: the metastore's binary distribution (.tar.gz) is missing from $lib"
    rm -rf "$home"; mkdir -p "$home"
    tar -xzf "$tgz" -C "$home" --strip-components=1 --wildcards '*/scripts/metastore/upgrade/derby/*' \
      || die "hive: could not unpack the Derby schema scripts from $tgz"
    touch "$home/.unpacked"
  fi
  printf '%s' "$home"
}

# _hive_cmd JAVA LIB DIR PROC CLASS [ARGS...] — fill the global array _HIVE_CMD.
_hive_cmd() {
  local java=$1 lib=$2 dir=$3 proc=$4; shift 4
  # DataNucleus, Hadoop and Thrift reflect into java.base on Java 17; the usual set for Hadoop.
  local opens=(
    --add-opens=java.base/java.lang=ALL-UNNAMED
    --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens=java.base/java.io=ALL-UNNAMED
    --add-opens=java.base/java.net=ALL-UNNAMED
    --add-opens=java.base/java.nio=ALL-UNNAMED
    --add-opens=java.base/java.util=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  )
  _HIVE_CMD=(
    "$java"
    -Dproc_"$proc"                      # names the process in ps; _hive_alive checks for it
    -Xms64m -Xmx512m                    # a test bed; measured 190-270 MB RSS after start
    -XX:+UseSerialGC                    # 2 cores, small heap: fewer GC threads, less RSS
    -XX:+ExitOnOutOfMemoryError
    "${opens[@]}"
    -Djava.net.preferIPv4Stack=true
    -Dderby.system.home="$dir"          # Derby's own files stay in the service folder
    -Dderby.stream.error.file="$dir/derby.log"
    -Djava.io.tmpdir="$dir/tmp"
    -cp "$dir/conf:$lib/*"              # conf first: metastore-site.xml, core-site.xml, log4j2
    "$@"
  )
}

_hive_fail() {
  local msg=$1 dir logf; shift
  dir=$(svc_dir hive)
  for logf in "$@"; do
    [ -f "$dir/$logf" ] || continue
    log "hive: last lines of $dir/$logf:"
    tail -n 25 "$dir/$logf" | cut -c1-300 | sed 's/^/    /' >&2
  done
  die "$msg (logs: $dir/)"
}

# _hive_schema_once JAVA LIB DIR — create the Derby database with Hive's schema the first time.
_hive_schema_once() {
  local java=$1 lib=$2 dir=$3 home
  [ -f "$dir/.schema" ] && return 0
  home=$(_hive_home "$lib") || die "hive: no Derby schema scripts for the schema tool"
  if [ -d "$dir/metastore_db" ]; then
    # No marker but a database: an interrupted first run (the marker is written right after the
    # schema tool succeeds), whose half-made tables would make -initSchema fail.
    log "hive: removing $dir/metastore_db left by an unfinished schema creation"
    rm -rf "$dir/metastore_db"
  fi
  log "hive: creating the metastore schema in Derby (first start)"
  _hive_cmd "$java" "$lib" "$dir" hiveschematool \
    org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool -initSchema -dbType derby
  ( cd "$dir" && METASTORE_HOME="$home" "${_HIVE_CMD[@]}" >"$dir/schematool.log" 2>&1 ) \
    || { rm -rf "$dir/metastore_db"; _hive_fail "hive: the schema tool failed" schematool.log; }
  touch "$dir/.schema"
}

# hive_ready — the metastore answers a real Thrift call: get_database("default") (TBinaryProtocol,
# strict, plain socket) must return a Database whose first field is the name "default". That
# proves Thrift, the Derby connection and the schema, not just an open port. About 10 ms.
hive_ready() {
  local port=$LOGRELAY_HIVE_METASTORE_PORT got
  local want=800100020000000c6765745f6461746162617365000000010c00000b00010000000764656661756c74
  got=$(timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "\x80\x01\x00\x01\x00\x00\x00\x0cget_database\x00\x00\x00\x01\x0b\x00\x01\x00\x00\x00\x07default\x00" >&3
    head -c 41 <&3' _ "$port" 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
  [ "$got" = "$want" ]
}

hive_up() {
  local dir java lib
  dir=$(svc_dir hive)
  if _hive_alive && hive_ready; then
    log "hive: already running (thrift://127.0.0.1:$LOGRELAY_HIVE_METASTORE_PORT)"
    return 0
  fi
  if ! _hive_alive && port_open "$LOGRELAY_HIVE_METASTORE_PORT"; then
    die "hive: 127.0.0.1:$LOGRELAY_HIVE_METASTORE_PORT is already in use by a process this script did not start (stop it or set LOGRELAY_HIVE_METASTORE_PORT)"
  fi
  if ! port_open "$LOGRELAY_HDFS_RPC_PORT"; then
    log "hive: warning: no HDFS at 127.0.0.1:$LOGRELAY_HDFS_RPC_PORT; the metastore starts, but creating tables and partitions needs it (scripts/services.sh up hdfs)"
  fi

  java=$(_hive_java) || die "hive: no Java 11, 17 or 21 found; set LOGRELAY_HIVE_JAVA"
  lib=$(mvn_fetch hive "$(_hive_src)") || die "hive: could not resolve the metastore jars"
  _hive_write_conf "$dir"
  _hive_schema_once "$java" "$lib" "$dir"

  if ! _hive_alive; then
    _hive_cmd "$java" "$lib" "$dir" hivemetastore org.apache.hadoop.hive.metastore.HiveMetaStore
    log "hive: starting the metastore"
    # One log per start (the previous one kept as .1): on a failed start, the lines shown below
    # are this start's.
    [ -f "$dir/metastore.log" ] && mv -f "$dir/metastore.log" "$dir/metastore.log.1"
    # From the service folder: anything the metastore writes to a relative path stays there.
    ( cd "$dir" && start_bg hive metastore "$dir/metastore.log" "${_HIVE_CMD[@]}" )
  fi

  local deadline=$(( $(date +%s) + ${LOGRELAY_HIVE_START_TIMEOUT:-90} ))
  until hive_ready; do
    _hive_alive || _hive_fail "hive: the metastore exited during start-up" metastore.log
    if [ "$(date +%s)" -ge "$deadline" ]; then
      # A metastore that never answers would otherwise count as running on the next up, which
      # would wait for it again instead of starting a fresh one.
      stop_pid hive metastore
      _hive_fail "hive: not ready after ${LOGRELAY_HIVE_START_TIMEOUT:-90}s (get_database(default) over Thrift); stopped it" metastore.log
    fi
    sleep 0.3
  done
  log "hive: ready, thrift://127.0.0.1:$LOGRELAY_HIVE_METASTORE_PORT (pid $(_hive_pid))"
}

# hive_down — stop the metastore if it is ours; a stale pid file (recycled pid) is just removed.
hive_down() {
  if _hive_alive; then
    stop_pid hive metastore
  else
    rm -f "$(pidfile hive metastore)"
  fi
}

hive_status() {
  if _hive_alive; then
    printf '%-10s %-8s pid %s  127.0.0.1:%s\n' hive running "$(_hive_pid)" "$LOGRELAY_HIVE_METASTORE_PORT"
    return 0
  fi
  printf '%-10s stopped\n' hive
  return 3
}
