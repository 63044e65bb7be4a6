#!/bin/sh
# One-shot set-up of the control plane for the compose stack (service admin-migrate):
#   1. create the tables t_logagent_node and t_logagent_tail (logrelay admin migrate);
#   2. one node per agent, with the etcd key its agent watches (agent-N.yaml remote.etcd.key);
#   3. one running tail per node on the app log its log-writer sidecar writes;
#   4. publish every node to etcd again (repairs an etcd volume wiped while MySQL was kept).
# Idempotent: nodes and tails that exist are left as they are (a tail stopped by an operator
# stays stopped), so it is safe on every `docker compose up`.
#
# Environment: LOGRELAY_MYSQL_URL, LOGRELAY_ETCD_ENDPOINTS (as for every `logrelay admin`).
# Runs in the logrelay image: node and /app/bin/logrelay.js are there.
set -eu

logrelay() { node /app/bin/logrelay.js "$@"; }

# json_find FIELD VALUE OUT_FIELD: reads a JSON array on stdin, prints OUT_FIELD of the first
# element whose FIELD equals VALUE (nothing when there is none).
json_find() {
  node -e '
    const [field, value, out] = process.argv.slice(1);
    let text = "";
    process.stdin.on("data", (d) => (text += d));
    process.stdin.on("end", () => {
      const hit = JSON.parse(text).find((row) => String(row[field]) === value);
      if (hit !== undefined) process.stdout.write(String(hit[out]));
    });' "$1" "$2" "$3"
}

# ensure_node IP NAME KEY_PATH: prints the id of the node with that IP, adding it when missing.
ensure_node() {
  id=$(logrelay admin node list --json | json_find ip "$1" id)
  if [ -z "$id" ]; then
    logrelay admin node add --ip "$1" --name "$2" --key-path "$3" >&2
    id=$(logrelay admin node list --json | json_find ip "$1" id)
  fi
  key=$(logrelay admin node list --json | json_find ip "$1" keyPath)
  if [ "$key" != "$3" ]; then
    echo "admin-init: node $id (ip $1) watches $key, not $3; fix it by hand" >&2
    exit 1
  fi
  printf '%s' "$id"
}

# ensure_tail NODE_ID LOG_PATH TOPIC: adds the tail (running) unless the node has that path.
ensure_tail() {
  existing=$(logrelay admin tail list --node "$1" --json | json_find logPath "$2" id)
  if [ -z "$existing" ]; then
    logrelay admin tail add --node "$1" --path "$2" --topic "$3"
  else
    echo "tail $existing of node $1 ($2) exists"
  fi
}

logrelay admin migrate

# The IPs are only the nodes' identity in t_logagent_node (unique); the agents find their tails
# by key_path, so containers need no fixed addresses. `app.log*` also matches app.log.1, the
# rotated file, so lines written while an agent was down are still read after a rotation.
# One pair of lines per agent: ensure_node IP NAME KEY_PATH (KEY_PATH = remote.etcd.key of
# deploy/compose/agent-N.yaml; test/unit/compose-configs.test.ts checks they agree).
node_id=$(ensure_node 10.89.0.1 agent-1 /logagent/agent-1/tails)
ensure_tail "$node_id" '/var/log/app/app.log*' app
node_id=$(ensure_node 10.89.0.2 agent-2 /logagent/agent-2/tails)
ensure_tail "$node_id" '/var/log/app/app.log*' app

logrelay admin publish
logrelay admin tail list
