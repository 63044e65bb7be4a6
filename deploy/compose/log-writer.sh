#!/bin/sh
# A stand-in application for the compose stack (services log-writer-N, busybox): appends one
# unique line to $LOG_FILE every $INTERVAL seconds and rotates the file by rename (app.log →
# app.log.1, the previous app.log.1 dropped) every $ROTATE_EVERY lines, as logrotate's default
# (create) mode does. Each line carries the writer, a run id (the start time) and a counter, so
# the lines that reach Kafka and HDFS can be counted exactly:
#   2025-01-01T10:00:00Z agent-1 run=1735725600 seq=42
#
# `log-writer.sh check` is the healthcheck: the file was written within the last 10 seconds.
set -eu

file=${LOG_FILE:-/var/log/app/app.log}
interval=${INTERVAL:-0.1}
rotate_every=${ROTATE_EVERY:-3000}
writer=${WRITER_ID:-$(hostname)}

if [ "${1:-}" = check ]; then
  # Just after a rotation the new file may not exist yet: the rotated one counts too.
  for f in "$file" "$file.1"; do
    if [ -f "$f" ] && [ $(($(date +%s) - $(stat -c %Y "$f"))) -lt 10 ]; then exit 0; fi
  done
  exit 1
fi

mkdir -p "$(dirname "$file")"
run=$(date +%s)
seq=0
# PID 1 ignores SIGTERM unless it is trapped: stop at once on `docker compose stop`.
trap 'exit 0' TERM INT
while :; do
  seq=$((seq + 1))
  printf '%s %s run=%s seq=%d\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$writer" "$run" "$seq" >>"$file"
  if [ $((seq % rotate_every)) -eq 0 ]; then mv -f "$file" "$file.1"; fi
  sleep "$interval"
done
