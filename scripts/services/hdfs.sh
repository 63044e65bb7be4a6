# HDFS test bed: Apache Hadoop 3.4 NameNode + DataNode as two plain Java processes, from jars
# resolved out of Maven Central (scripts/services/hdfs/pom.xml) — no Hadoop tarball, no Docker.
# Loopback only: RPC 127.0.0.1:$LOGRELAY_HDFS_RPC_PORT, WebHDFS 127.0.0.1:$LOGRELAY_HDFS_HTTP_PORT,
# DataNode HTTP/data/IPC on 127.0.0.1:$LOGRELAY_HDFS_DN_{HTTP,,IPC}_PORT.
#
# Sourced by scripts/services.sh after lib.sh: only defines functions (hdfs_up, hdfs_down,
# hdfs_status, hdfs_ready, plus _hdfs_* helpers). Layout under $(svc_dir hdfs):
#   conf/        core-site.xml, hdfs-site.xml, log4j.properties, logging.properties (rewritten
#                on every up), http-signature-secret (created once)
#   name/ data/  NameNode metadata and DataNode blocks (kept across down/up)
#   .formatted   marker: the NameNode was formatted once; never reformat while it exists
#   namenode.pid datanode.pid namenode.log datanode.log format.log
# LOGRELAY_HDFS_JAVA picks the java binary; LOGRELAY_HDFS_START_TIMEOUT (default 120 s) bounds up.

_hdfs_src() { printf '%s/scripts/services/hdfs' "$LOGRELAY_ROOT"; }
_hdfs_http() { printf 'http://127.0.0.1:%s' "$LOGRELAY_HDFS_HTTP_PORT"; }

# _hdfs_alive PROC — the pid file names a live process AND that process is one of ours (its command
# line carries -Dproc_PROC and our conf dir), so a recycled pid never counts as "running".
_hdfs_alive() {
  is_running hdfs "$1" || return 1
  local pid; pid=$(cat "$(pidfile hdfs "$1")" 2>/dev/null)
  local cmd; cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
  [[ $cmd == *"-Dproc_$1 "* && $cmd == *"$(svc_dir hdfs)/conf"* ]]
}

_hdfs_pid() { cat "$(pidfile hdfs "$1")" 2>/dev/null; }

# _hdfs_java — a java that runs Hadoop 3.4: 11, 17 or 21. JDK 23+ makes Subject.getSubject()
# throw (UserGroupInformation calls it on every request), so a newer default java is skipped in
# favour of an installed 17/21/11. LOGRELAY_HDFS_JAVA overrides the choice.
_hdfs_java() {
  if [ -n "${LOGRELAY_HDFS_JAVA:-}" ]; then printf '%s' "$LOGRELAY_HDFS_JAVA"; return 0; fi
  local j v
  for j in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java 2>/dev/null)" \
           /usr/lib/jvm/java-17-*/bin/java /usr/lib/jvm/java-21-*/bin/java \
           /usr/lib/jvm/java-11-*/bin/java /usr/lib/jvm/*/bin/java; do
    { [ -n "$j" ] && [ -x "$j" ]; } || continue
    v=$("$j" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')
    case $v in 11|17|21) printf '%s' "$j"; return 0 ;; esac
  done
  return 1
}

# _hdfs_write_conf DIR — render the templates into DIR/conf. Rewritten on every up (cheap, and a
# port change in the environment takes effect on the next start); running daemons are unaffected.
_hdfs_write_conf() {
  local dir=$1 src f; src=$(_hdfs_src)
  mkdir -p "$dir/conf" "$dir/logs"
  for f in core-site.xml hdfs-site.xml; do
    sed -e "s|@DATA_DIR@|$dir|g" \
        -e "s|@RPC_PORT@|$LOGRELAY_HDFS_RPC_PORT|g" \
        -e "s|@HTTP_PORT@|$LOGRELAY_HDFS_HTTP_PORT|g" \
        -e "s|@DN_PORT@|$LOGRELAY_HDFS_DN_PORT|g" \
        -e "s|@DN_HTTP_PORT@|$LOGRELAY_HDFS_DN_HTTP_PORT|g" \
        -e "s|@DN_IPC_PORT@|$LOGRELAY_HDFS_DN_IPC_PORT|g" \
        "$src/$f" >"$dir/conf/$f.tmp" && mv "$dir/conf/$f.tmp" "$dir/conf/$f"
  done
  cp "$src/log4j.properties" "$src/logging.properties" "$dir/conf/"
  # Secret for the HTTP auth cookie (see core-site.xml); created once so restarts keep it.
  if [ ! -s "$dir/conf/http-signature-secret" ]; then
    (umask 077; head -c 32 /dev/urandom | base64 >"$dir/conf/http-signature-secret")
  fi
}

# _hdfs_cmd PROC JAVA LIB DIR CLASS [ARGS...] — fill the global array _HDFS_CMD with the full java
# command line for one Hadoop daemon (or the one-off format run); arrays can't be returned.
_hdfs_cmd() {
  local proc=$1 java=$2 lib=$3 dir=$4; shift 4
  # Hadoop 3.4 on Java 17 reflects into JDK internals (direct-buffer cleaners in java.nio and
  # sun.nio.ch, java.lang for protobuf/Jersey/Guava, sun.net.* for DNS/host helpers); without
  # these opens some paths throw InaccessibleObjectException. The usual JDK 17 set for Hadoop.
  local opens=(
    --add-opens=java.base/java.lang=ALL-UNNAMED
    --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
    --add-opens=java.base/java.io=ALL-UNNAMED
    --add-opens=java.base/java.net=ALL-UNNAMED
    --add-opens=java.base/java.nio=ALL-UNNAMED
    --add-opens=java.base/java.util=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
    --add-opens=java.base/java.util.regex=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
    --add-opens=java.base/sun.security.action=ALL-UNNAMED
    --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
    --add-exports=java.base/sun.net.dns=ALL-UNNAMED
    --add-exports=java.base/sun.net.util=ALL-UNNAMED
  )
  _HDFS_CMD=(
    "$java"
    -Dproc_"$proc"                      # names the daemon in ps; _hdfs_alive checks for it
    -Xms64m -Xmx512m                    # a test bed; the default max heap is 1/4 of RAM each
    -XX:+UseSerialGC                    # 2 cores, small heap: fewer GC threads, less RSS
    -XX:+ExitOnOutOfMemoryError         # die loudly instead of limping along half-broken
    "${opens[@]}"
    -Djava.net.preferIPv4Stack=true     # as Hadoop's own launcher does; everything is 127.0.0.1
    -Dhadoop.home.dir="$dir"            # Shell looks for a Hadoop home; any existing dir will do
    -Dhadoop.log.dir="$dir/logs"        # the web UI's /logs servlet and a few writers use it
    -Dhadoop.id.str="$(id -un)"
    -Dlog4j.configuration=log4j.properties
    # Jersey 1 (WebHDFS REST layer) logs through java.util.logging, not log4j
    -Djava.util.logging.config.file="$dir/conf/logging.properties"
    -cp "$dir/conf:$lib/*"              # conf first so our *-site.xml and log4j.properties win
    "$@"
  )
}

# _hdfs_check_free PROC PORT... — before starting PROC, make sure nothing else owns its ports.
_hdfs_check_free() {
  local proc=$1 p; shift
  for p in "$@"; do
    if port_open "$p"; then
      die "hdfs: 127.0.0.1:$p is already in use by a process this script did not start; cannot start the $proc (stop that process or set the LOGRELAY_HDFS_*_PORT variables)"
    fi
  done
}

# _hdfs_fail MESSAGE PROC... — show the end of each named log (namenode, datanode, format), die.
_hdfs_fail() {
  local msg=$1 dir proc logf; shift
  dir=$(svc_dir hdfs)
  for proc in "$@"; do
    logf="$dir/$proc.log"
    [ -f "$logf" ] || continue
    log "hdfs: last lines of $logf:"
    # Cut long lines: the start-up banner prints the whole (very long) classpath.
    tail -n 25 "$logf" | cut -c1-300 | sed 's/^/    /' >&2
  done
  die "$msg (logs: $dir/)"
}

# _hdfs_format_once JAVA LIB DIR — format the NameNode the first time only.
_hdfs_format_once() {
  local java=$1 lib=$2 dir=$3
  [ -f "$dir/.formatted" ] && return 0
  if [ -f "$dir/name/current/VERSION" ]; then
    # Metadata exists but the marker is gone: it was formatted; never wipe a namespace silently.
    touch "$dir/.formatted"; return 0
  fi
  log "hdfs: formatting the NameNode (first start)"
  # Blocks left by an earlier namespace would carry another clusterID and stop the DataNode.
  rm -rf "$dir/data" "$dir/name"
  _hdfs_cmd format "$java" "$lib" "$dir" \
    org.apache.hadoop.hdfs.server.namenode.NameNode -format -force -nonInteractive -clusterid logrelay
  "${_HDFS_CMD[@]}" >"$dir/format.log" 2>&1 || _hdfs_fail "hdfs: NameNode -format failed" format
  touch "$dir/.formatted"
}

# _hdfs_start PROC CLASS JAVA LIB DIR
_hdfs_start() {
  local proc=$1 class=$2 java=$3 lib=$4 dir=$5
  _hdfs_cmd "$proc" "$java" "$lib" "$dir" "$class"
  log "hdfs: starting $proc"
  start_bg hdfs "$proc" "$dir/$proc.log" "${_HDFS_CMD[@]}"
}

# hdfs_ready — WebHDFS answers, the NameNode has left safe mode (FSState "safeMode" refuses
# writes), and it has a DataNode with free space that heartbeated within the last 3 s whose HTTP
# port (where WebHDFS redirects go) is open. Three local HTTP calls, ~0.1 s. Responses are read
# into variables before matching: `curl | grep -q` can fail under the dispatcher's pipefail when
# grep exits early and curl gets SIGPIPE.
hdfs_ready() {
  local base out live free contact
  base=$(_hdfs_http)
  out=$(curl -fsS -m 3 "$base/webhdfs/v1/?op=LISTSTATUS&user.name=root" 2>/dev/null) || return 1
  [[ $out == *'"FileStatuses"'* ]] || return 1
  out=$(curl -fsS -m 3 "$base/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState" 2>/dev/null) \
    || return 1
  [[ $out =~ \"FSState\"\ *:\ *\"Operational\" ]] || return 1
  [[ $out =~ \"NumLiveDataNodes\"\ *:\ *([0-9]+) ]] && live=${BASH_REMATCH[1]} || return 1
  [[ $out =~ \"CapacityRemaining\"\ *:\ *([0-9]+) ]] && free=${BASH_REMATCH[1]} || return 1
  # Registered is not enough: until the first heartbeat brings a storage report the NameNode
  # sees 0 bytes free and a CREATE fails with "could only be written to 0 of the 1 nodes".
  [ "$live" -ge 1 ] && [ "$free" -gt 0 ] || return 1
  # A DataNode that just died still counts as live until its heartbeat expires (20 s with our
  # hdfs-site.xml), so also require a recent heartbeat (lastContact, in seconds; heartbeats are
  # every 1 s). Asked of the NameNode on purpose: the DataNode's own /jmx bean throws (and logs
  # stack traces) while it is still starting.
  out=$(curl -fsS -m 3 "$base/jmx?get=Hadoop:service=NameNode,name=NameNodeInfo::LiveNodes" 2>/dev/null) \
    || return 1
  [[ $out =~ lastContact[^0-9]*([0-9]+) ]] && contact=${BASH_REMATCH[1]} || return 1
  [ "$contact" -le 3 ] || return 1
  port_open "$LOGRELAY_HDFS_DN_HTTP_PORT"
}

hdfs_up() {
  local dir java lib
  dir=$(svc_dir hdfs)
  if _hdfs_alive namenode && _hdfs_alive datanode && hdfs_ready; then
    log "hdfs: already running ($(_hdfs_http))"
    return 0
  fi
  command -v curl >/dev/null || apt_install curl

  # Refuse to run beside a foreign HDFS (or anything else) on our ports, before any slow work.
  _hdfs_alive namenode || _hdfs_check_free namenode "$LOGRELAY_HDFS_RPC_PORT" "$LOGRELAY_HDFS_HTTP_PORT"
  _hdfs_alive datanode || _hdfs_check_free datanode "$LOGRELAY_HDFS_DN_PORT" \
    "$LOGRELAY_HDFS_DN_HTTP_PORT" "$LOGRELAY_HDFS_DN_IPC_PORT"

  java=$(_hdfs_java) || die "hdfs: no Java 11, 17 or 21 found (Hadoop 3.4 does not run on 23+); set LOGRELAY_HDFS_JAVA"
  lib=$(mvn_fetch hdfs "$(_hdfs_src)") || die "hdfs: could not resolve the Hadoop jars"
  _hdfs_write_conf "$dir"
  _hdfs_format_once "$java" "$lib" "$dir"

  # Both daemons start at once: each spends ~7 s of JVM/class-loading warm-up before it needs the
  # other (measured here: 19 s to ready when the DataNode waited for the NameNode's RPC port,
  # 11-14 s in parallel). The DataNode just retries the NameNode RPC address until it answers.
  if ! _hdfs_alive namenode; then
    _hdfs_start namenode org.apache.hadoop.hdfs.server.namenode.NameNode "$java" "$lib" "$dir"
  fi
  if ! _hdfs_alive datanode; then
    _hdfs_start datanode org.apache.hadoop.hdfs.server.datanode.DataNode "$java" "$lib" "$dir"
  fi

  local deadline=$(( $(date +%s) + ${LOGRELAY_HDFS_START_TIMEOUT:-120} ))
  local proc
  until hdfs_ready; do
    for proc in namenode datanode; do
      _hdfs_alive "$proc" || _hdfs_fail "hdfs: the $proc exited during start-up" "$proc"
    done
    if [ "$(date +%s)" -ge "$deadline" ]; then
      _hdfs_fail "hdfs: not ready after ${LOGRELAY_HDFS_START_TIMEOUT:-120}s (WebHDFS, live DataNode, out of safe mode)" namenode datanode
    fi
    sleep 0.3
  done
  log "hdfs: ready, WebHDFS at $(_hdfs_http)/webhdfs/v1/ (pids $(_hdfs_pid namenode),$(_hdfs_pid datanode))"
}

# hdfs_down — reverse start order (the DataNode depends on the NameNode). A pid file whose process
# is not ours (recycled pid) is just removed, never signalled.
hdfs_down() {
  local proc
  for proc in datanode namenode; do
    if _hdfs_alive "$proc"; then
      stop_pid hdfs "$proc"
    else
      rm -f "$(pidfile hdfs "$proc")"
    fi
  done
}

hdfs_status() {
  local nn=- dn=-
  _hdfs_alive namenode && nn=$(_hdfs_pid namenode)
  _hdfs_alive datanode && dn=$(_hdfs_pid datanode)
  if [ "$nn" != - ] && [ "$dn" != - ]; then
    printf '%-10s %-8s pid %s,%s  127.0.0.1:%s\n' hdfs running "$nn" "$dn" "$LOGRELAY_HDFS_HTTP_PORT"
    return 0
  elif [ "$nn" != - ] || [ "$dn" != - ]; then
    printf '%-10s %-8s pid %s,%s  (namenode,datanode: one is down)\n' hdfs partial "$nn" "$dn"
    return 3
  fi
  printf '%-10s stopped\n' hdfs
  return 3
}
