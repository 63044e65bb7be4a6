# Redis on 127.0.0.1:$LOGRELAY_REDIS_PORT. The development and CI machines already run one: use
# it when it answers PING; otherwise install Debian's redis-server and start our own instance
# with its data under .services/. Sourced by scripts/services.sh.

redis_ready() {
  local reply
  reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$LOGRELAY_REDIS_PORT" && printf 'PING\r\n' >&3 && timeout 2 head -c 7 <&3) 2>/dev/null | tr -d '\r\n')
  [ "$reply" = "+PONG" ]
}

redis_up() {
  if redis_ready; then
    is_running redis || log "redis: using the server already answering on 127.0.0.1:$LOGRELAY_REDIS_PORT"
    return 0
  fi
  apt_install redis-server
  if is_running redis; then
    wait_until "redis" 30 redis_ready || die "redis: running but not answering PING"
    return 0
  fi
  port_open "$LOGRELAY_REDIS_PORT" && die "redis: port $LOGRELAY_REDIS_PORT is taken by something that does not answer PING"
  local dir; dir=$(svc_dir redis)
  log "redis: starting on 127.0.0.1:$LOGRELAY_REDIS_PORT"
  start_bg redis redis "$dir/redis.log" \
    redis-server --bind 127.0.0.1 --port "$LOGRELAY_REDIS_PORT" --save "" --appendonly no --dir "$dir"
  wait_until "redis PING" 30 redis_ready || { tail -20 "$dir/redis.log" >&2; die "redis did not become ready"; }
  log "redis: ready"
}

redis_down() { stop_pid redis; }

redis_status() {
  if is_running redis; then
    printf '%-10s running  pid %s  127.0.0.1:%s\n' redis "$(cat "$(pidfile redis)")" "$LOGRELAY_REDIS_PORT"
  elif redis_ready; then
    printf '%-10s external 127.0.0.1:%s (not started by these scripts)\n' redis "$LOGRELAY_REDIS_PORT"
  else
    printf '%-10s stopped\n' redis; return 3
  fi
}
