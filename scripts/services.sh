#!/usr/bin/env bash
# The test bed: start, stop and show the real services logrelay's tests need, on loopback.
#   scripts/services.sh up|down|status [service...]
# Services: zookeeper etcd mariadb redis kafka hdfs hive mongodb hbase (default: all; hive, a Hive
# Metastore, after the hdfs its tables live on; mongodb is mongo-java-server, see
# services/mongodb.sh; hbase, standalone HBase with its REST gateway, last). `up` installs what is
# missing, starts what is not running and waits until each is ready; it is idempotent. `down`
# stops only what `up` started (by pid file).
# Ports: see scripts/services/lib.sh (LOGRELAY_*_PORT).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=services/lib.sh
source "$here/services/lib.sh"
all=(zookeeper etcd mariadb redis kafka hdfs hive mongodb hbase)
for s in "${all[@]}"; do
  # shellcheck disable=SC1090
  source "$here/services/$s.sh"
done

cmd=${1:-status}; shift || true
services=("$@"); [ ${#services[@]} -eq 0 ] && services=("${all[@]}")
for s in "${services[@]}"; do
  [[ " ${all[*]} " == *" $s "* ]] || die "unknown service '$s' (known: ${all[*]})"
done

case "$cmd" in
  up)
    for s in "${services[@]}"; do
      start=$(date +%s)
      ( "${s}_up" ) || die "$s failed to start (logs under $LOGRELAY_SERVICES_DIR/$s/)"
      log "$s: up in $(( $(date +%s) - start ))s"
    done
    for s in "${services[@]}"; do "${s}_status"; done
    ;;
  down)
    # Reverse order: dependants before what they depend on.
    for (( i=${#services[@]}-1; i>=0; i-- )); do ( "${services[$i]}_down" ); done
    ;;
  status)
    rc=0
    for s in "${services[@]}"; do "${s}_status" || rc=3; done
    exit $rc
    ;;
  *) die "usage: $0 up|down|status [service...]" ;;
esac
