# etcd 3.4 from Debian's packages, single member, on 127.0.0.1:$LOGRELAY_ETCD_PORT.
# Sourced by scripts/services.sh.

etcd_ready() {
  curl -sf --max-time 2 "http://127.0.0.1:$LOGRELAY_ETCD_PORT/health" | grep -q '"health":"true"'
}

etcd_up() {
  apt_install etcd-server etcd-client curl
  if is_running etcd; then
    wait_until "etcd" 30 etcd_ready || die "etcd: running but not healthy"
    return 0
  fi
  port_open "$LOGRELAY_ETCD_PORT" && die "etcd: port $LOGRELAY_ETCD_PORT is taken by a process these scripts did not start"
  local dir; dir=$(svc_dir etcd)
  log "etcd: starting on 127.0.0.1:$LOGRELAY_ETCD_PORT"
  # Debian's package may start its own etcd through systemd; ours is a separate process with
  # its own data dir, so nothing outside .services/ is touched.
  start_bg etcd etcd "$dir/etcd.log" \
    etcd --name n1 --data-dir "$dir/data" \
    --listen-client-urls "http://127.0.0.1:$LOGRELAY_ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$LOGRELAY_ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$LOGRELAY_ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$LOGRELAY_ETCD_PEER_PORT" \
    --initial-cluster "n1=http://127.0.0.1:$LOGRELAY_ETCD_PEER_PORT" \
    --auto-compaction-retention=1
  wait_until "etcd /health" 60 etcd_ready || { tail -20 "$dir/etcd.log" >&2; die "etcd did not become ready"; }
  log "etcd: ready"
}

etcd_down() { stop_pid etcd; }

etcd_status() {
  if is_running etcd; then
    printf '%-10s running  pid %s  127.0.0.1:%s\n' etcd "$(cat "$(pidfile etcd)")" "$LOGRELAY_ETCD_PORT"
  else
    printf '%-10s stopped\n' etcd; return 3
  fi
}
