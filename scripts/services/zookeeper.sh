# ZooKeeper 3.8 from Debian's package, standalone, on 127.0.0.1:$LOGRELAY_ZK_PORT.
# Sourced by scripts/services.sh.

zookeeper_ready() {
  [ "$(exec 3<>"/dev/tcp/127.0.0.1/$LOGRELAY_ZK_PORT" && printf ruok >&3 && timeout 2 cat <&3)" = imok ] 2>/dev/null
}

zookeeper_up() {
  apt_install zookeeper
  if is_running zookeeper; then
    wait_until "zookeeper" 30 zookeeper_ready || die "zookeeper: running but not answering ruok"
    return 0
  fi
  port_open "$LOGRELAY_ZK_PORT" && die "zookeeper: port $LOGRELAY_ZK_PORT is taken by a process these scripts did not start"
  local dir; dir=$(svc_dir zookeeper)
  mkdir -p "$dir/data"
  # minSessionTimeout=2000 lets tests use 2 s sessions, so failover tests stay short. ZooKeeper
  # expires sessions on tick boundaries: a 500 ms tick keeps expiry within half a second of the
  # timeout (2000 would add up to 2 s to every failover).
  cat >"$dir/zoo.cfg" <<CFG
tickTime=500
initLimit=40
syncLimit=20
dataDir=$dir/data
clientPort=$LOGRELAY_ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr,cons
minSessionTimeout=2000
maxSessionTimeout=60000
maxClientCnxns=0
autopurge.purgeInterval=1
CFG
  local cp=/usr/share/java/zookeeper.jar
  [ -f /usr/share/java/slf4j-simple.jar ] && cp="$cp:/usr/share/java/slf4j-simple.jar"
  log "zookeeper: starting on 127.0.0.1:$LOGRELAY_ZK_PORT"
  start_bg zookeeper zookeeper "$dir/zookeeper.log" \
    java -Xmx256m -Dzookeeper.log.dir="$dir" -cp "$cp" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg"
  wait_until "zookeeper ruok" 60 zookeeper_ready || { tail -20 "$dir/zookeeper.log" >&2; die "zookeeper did not become ready"; }
  log "zookeeper: ready"
}

zookeeper_down() { stop_pid zookeeper; }

zookeeper_status() {
  if is_running zookeeper; then
    printf '%-10s running  pid %s  127.0.0.1:%s\n' zookeeper "$(cat "$(pidfile zookeeper)")" "$LOGRELAY_ZK_PORT"
  else
    printf '%-10s stopped\n' zookeeper; return 3
  fi
}
