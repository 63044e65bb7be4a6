# MariaDB on 127.0.0.1:$LOGRELAY_MYSQL_PORT. The development and CI machines already run one
# (root, empty password): use it when it answers; otherwise install Debian's server and start
# our own instance with its data under .services/.
# Sourced by scripts/services.sh.

mariadb_ready() {
  mariadb --protocol=TCP -h 127.0.0.1 -P "$LOGRELAY_MYSQL_PORT" -uroot --connect-timeout=2 -e 'SELECT 1' >/dev/null 2>&1
}

mariadb_up() {
  if mariadb_ready; then
    is_running mariadb || log "mariadb: using the server already answering on 127.0.0.1:$LOGRELAY_MYSQL_PORT"
    return 0
  fi
  apt_install mariadb-server mariadb-client
  if is_running mariadb; then
    wait_until "mariadb" 60 mariadb_ready || die "mariadb: running but not answering"
    return 0
  fi
  port_open "$LOGRELAY_MYSQL_PORT" && die "mariadb: port $LOGRELAY_MYSQL_PORT answers but root@127.0.0.1 with an empty password cannot log in"
  local dir; dir=$(svc_dir mariadb)
  if [ ! -d "$dir/data/mysql" ]; then
    log "mariadb: initialising $dir/data"
    mariadb-install-db --user=root --datadir="$dir/data" --auth-root-authentication-method=normal \
      --skip-test-db >"$dir/install.log" 2>&1 || { tail -20 "$dir/install.log" >&2; die "mariadb-install-db failed"; }
  fi
  log "mariadb: starting on 127.0.0.1:$LOGRELAY_MYSQL_PORT"
  # Without the charset flags --no-defaults means latin1, and joins fail with "Illegal mix of collations".
  start_bg mariadb mariadb "$dir/mariadb.log" \
    /usr/sbin/mariadbd --no-defaults --user=root --datadir="$dir/data" --socket="$dir/mysqld.sock" \
    --pid-file="$dir/data/mariadbd.pid" --bind-address=127.0.0.1 --port="$LOGRELAY_MYSQL_PORT" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
  wait_until "mariadb" 60 mariadb_ready || { tail -20 "$dir/mariadb.log" >&2; die "mariadb did not become ready"; }
  log "mariadb: ready"
}

mariadb_down() { stop_pid mariadb; }

mariadb_status() {
  if is_running mariadb; then
    printf '%-10s running  pid %s  127.0.0.1:%s\n' mariadb "$(cat "$(pidfile mariadb)")" "$LOGRELAY_MYSQL_PORT"
  elif mariadb_ready; then
    printf '%-10s external 127.0.0.1:%s (not started by these scripts)\n' mariadb "$LOGRELAY_MYSQL_PORT"
  else
    printf '%-10s stopped\n' mariadb; return 3
  fi
}
