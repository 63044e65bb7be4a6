#!/usr/bin/env bash
# Makes a development CA and certificates for logrelay's gRPC (TLS / mTLS). Not for production:
# keys are unencrypted and the CA lives next to the certificates it signs.
#
#   scripts/dev-ca.sh DIR [--server NAME,...] [--client ID ...]
#
# DIR/ca.crt, ca.key        the CA (made once; reused on later runs, so certificates stay valid)
# DIR/server.crt, .key      collector certificate; subjectAltName = the --server names
#                           (default localhost,127.0.0.1)
# DIR/<ID>.crt, <ID>.key    one client certificate per --client, CN = the agent id
#
# Collector: listen.tls { cert: DIR/server.crt, key: DIR/server.key, clientCa: DIR/ca.crt }
# Agent:     ship.tls   { ca: DIR/ca.crt, cert: DIR/<ID>.crt, key: DIR/<ID>.key }
set -euo pipefail

die() { printf 'dev-ca: %s\n' "$*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: $0 DIR [--server NAME,...] [--client ID ...]"
dir=$1; shift
servers="localhost,127.0.0.1"
clients=()
while [ $# -gt 0 ]; do
  case $1 in
    --server) [ $# -ge 2 ] || die "--server needs a value"; servers=$2; shift 2 ;;
    --client) [ $# -ge 2 ] || die "--client needs a value"; clients+=("$2"); shift 2 ;;
    *) die "unknown argument: $1" ;;
  esac
done

if ! command -v openssl >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq openssl >/dev/null || die "cannot install openssl"
fi
mkdir -p "$dir"
umask 077

# Server names to a subjectAltName: IPs as IP:, the rest as DNS:.
san=""
IFS=',' read -r -a names <<<"$servers"
for n in "${names[@]}"; do
  if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then san+="IP:$n,"; else san+="DNS:$n,"; fi
done
san=${san%,}

if [ ! -f "$dir/ca.crt" ] || [ ! -f "$dir/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=logrelay development CA $(basename "$dir")" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null || die "cannot make the CA"
fi

# issue NAME CN EXTENSIONS — a leaf key and certificate signed by the CA.
issue() {
  local name=$1 cn=$2 ext=$3
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$cn" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null || die "cannot make a key for $name"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 825 -extfile <(printf '%s\n' "$ext") \
    -out "$dir/$name.crt" 2>/dev/null || die "cannot sign $name"
  rm -f "$dir/$name.csr"
}

issue server "${names[0]}" "subjectAltName=$san
extendedKeyUsage=serverAuth
basicConstraints=CA:FALSE"
for id in "${clients[@]}"; do
  [[ $id =~ ^[a-zA-Z0-9._-]{1,128}$ ]] || die "client id $id: use 1-128 of [a-zA-Z0-9._-]"
  issue "$id" "$id" "extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE"
done
chmod 644 "$dir"/*.crt
printf 'dev-ca: certificates in %s (server names: %s; clients: %s)\n' \
  "$dir" "$servers" "${clients[*]:-none}"
