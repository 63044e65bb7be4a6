import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { agentConfigSchema, type AgentConfig } from '../../../src/agent/config.js';
import { refusal } from '../../../src/agent/control/remote-tails.js';
import { collectorConfigSchema, type CollectorConfig } from '../../../src/collector/config.js';
import { loadConfigFile } from '../../../src/common/config/load-config.js';

// No Docker engine runs where the tests run, so the compose stack is checked here for what can
// drift apart: every logrelay configuration in deploy/compose/ loads with the loader and schema
// the processes use, the compose services run those files and probe the ports they set, the
// addresses in them are services (and listeners) of the compose file, and the compose file
// keeps the ports of the test bed (scripts/services/lib.sh, used by scripts/services/*.sh).
const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const deployDir = 'deploy/compose/';
/** Where docker-compose.yml mounts deploy/compose/ in the logrelay containers. */
const mountPoint = '/etc/logrelay';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  restart?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;

const yamlFiles = readdirSync(new URL(deployDir, root))
  .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
  .sort();
const agentFiles = yamlFiles.filter((f) => f.startsWith('agent-'));
const collectorFiles = yamlFiles.filter((f) => f.startsWith('collector-'));

const load = {
  agent: (file: string): Promise<AgentConfig> =>
    loadConfigFile(agentConfigSchema, fileURLToPath(new URL(deployDir + file, root))),
  collector: (file: string): Promise<CollectorConfig> =>
    loadConfigFile(collectorConfigSchema, fileURLToPath(new URL(deployDir + file, root))),
};

/** `collector-2.yaml` → `collector-2`: the compose service that runs it. */
const serviceOf = (file: string) => file.replace(/\.ya?ml$/, '');

/** Defaults of the `LOGRELAY_*_PORT` variables in scripts/services/lib.sh, by variable name. */
function scriptPorts(): Map<string, number> {
  const ports = new Map<string, number>();
  for (const m of read('scripts/services/lib.sh').matchAll(
    /^(LOGRELAY_\w+_PORT)="\$\{\1:-(\d+)\}"/gm,
  )) {
    ports.set(m[1] as string, Number(m[2]));
  }
  return ports;
}

/** A compose port entry `[ip:]host:container[/proto]` as numbers. */
function portMapping(entry: string): { host: number; container: number } {
  const parts = entry.replace(/\/\w+$/, '').split(':');
  return { host: Number(parts.at(-2)), container: Number(parts.at(-1)) };
}

/** `host:port` (or a URL) → its parts. */
function hostPort(address: string): { host: string; port: number } {
  const m = /^(?:\w+:\/\/)?([^:/]+):(\d+)/.exec(address);
  if (!m) throw new Error(`not host:port: ${address}`);
  return { host: m[1] as string, port: Number(m[2]) };
}

function healthcheckText(name: string): string {
  return (services[name]?.healthcheck?.test ?? []).join(' ');
}

/** Checks what every logrelay service running a config file has in common. */
function expectRunsConfig(
  file: string,
  role: 'agent' | 'collector',
  http: { host: string; port: number },
) {
  const name = serviceOf(file);
  const service = services[name];
  expect(service, `docker-compose.yml runs ${file} as service ${name}`).toBeDefined();
  expect(service?.command).toEqual([role, '-c', `${mountPoint}/${file}`]);
  expect(service?.volumes).toContain(`./${deployDir.replace(/\/$/, '')}:${mountPoint}:ro`);
  // Inside a container the ops endpoint must listen beyond loopback for Prometheus, and the
  // healthcheck must probe the port the file sets (the slim image has no curl: node's fetch).
  expect(http.host, `${file} http.host`).toBe('0.0.0.0');
  expect(healthcheckText(name)).toContain(`fetch('http://127.0.0.1:${http.port}/readyz')`);
  for (const entry of service?.ports ?? []) {
    expect(portMapping(entry).container, `${name}.ports ${entry}`).toBe(http.port);
  }
}

describe('deploy/compose/ configurations', () => {
  it('holds only agent-*.yaml and collector-*.yaml files, two agents and three collectors', () => {
    expect(yamlFiles).toEqual([...agentFiles, ...collectorFiles].sort());
    expect(agentFiles).toEqual(['agent-1.yaml', 'agent-2.yaml']);
    expect(collectorFiles).toEqual(['collector-1.yaml', 'collector-2.yaml', 'collector-3.yaml']);
  });

  it('uses no ${VAR}: the config loader does no environment substitution', () => {
    for (const file of yamlFiles) {
      expect(read(deployDir + file), file).not.toMatch(/\$\{?\w+/);
    }
  });

  it.each(collectorFiles)(
    '%s is a valid collector configuration run by its service',
    async (file) => {
      const config = await load.collector(file);
      const name = serviceOf(file);
      expect(config.id).toBe(name);
      expect(config.listen.host).toBe('0.0.0.0');
      // Agents dial what the collector advertises: the compose service name and its gRPC port.
      expect(config.cluster?.advertise).toBe(`${name}:${config.listen.port}`);
      expect(config.sinks.map((s) => s.type).sort()).toEqual(['hbase', 'hdfs', 'kafka', 'mongodb']);
      expectRunsConfig(file, 'collector', config.http);
    },
  );

  it('gives the collectors one cluster and the same sinks and routes (only id and advertise differ)', async () => {
    const configs = await Promise.all(collectorFiles.map(load.collector));
    const shared = configs.map((c) => ({
      ...c,
      id: undefined,
      cluster: { ...c.cluster, advertise: undefined },
    }));
    for (const other of shared.slice(1)) expect(other).toEqual(shared[0]);
    // Exactly-once fencing relies on the same transactional ids on every collector.
    const kafka = configs[0]?.sinks.find((s) => s.type === 'kafka');
    expect(kafka?.type === 'kafka' && kafka.exactlyOnce).toBeTruthy();
  });

  it.each(agentFiles)('%s is a valid agent configuration run by its service', async (file) => {
    const config = await load.agent(file);
    const name = serviceOf(file);
    expect(config.id).toBe(name);
    expect(config.cluster?.zookeeper.root).toBe('/logrelay');
    expectRunsConfig(file, 'agent', config.http);
    // State on a volume (the working folder of the image is writable, /etc/logrelay is not).
    const volumes = services[name]?.volumes ?? [];
    for (const path of [config.checkpoint.path, config.remote?.statePath ?? '']) {
      expect(path, `${file}: state under /var/lib/logrelay`).toMatch(/^\/var\/lib\/logrelay\//);
    }
    expect(volumes.some((v) => v.split(':')[1] === '/var/lib/logrelay')).toBe(true);
  });

  it('lets each agent read what its log writer writes, as the control plane tails it', async () => {
    const init = read(`${deployDir}admin-init.sh`);
    for (const file of agentFiles) {
      const config = await load.agent(file);
      const name = serviceOf(file);
      const writer = `log-writer-${name.replace(/^agent-/, '')}`;
      // The same volume at /var/log/app in the writer and (read-only) in the agent.
      const logVolume = (services[writer]?.volumes ?? []).find((v) => v.endsWith(':/var/log/app'));
      expect(logVolume, `${writer} writes to a volume at /var/log/app`).toBeDefined();
      expect(services[name]?.volumes).toContain(`${logVolume}:ro`);
      expect(services[name]?.depends_on?.[writer]?.condition).toBe('service_healthy');
      // admin-init.sh adds this agent's node with the key it watches, and a tail it accepts.
      const node = new RegExp(`^node_id=\\$\\(ensure_node \\S+ ${name} (\\S+)\\)\\n(.*)$`, 'm');
      const m = node.exec(init);
      expect(m, `admin-init.sh adds a node for ${name}`).not.toBeNull();
      expect(m?.[1]).toBe(config.remote?.etcd.key);
      const tail = /^ensure_tail "\$node_id" '([^']+)' (\S+)$/.exec(m?.[2] ?? '');
      expect(tail, `admin-init.sh adds a tail for ${name}`).not.toBeNull();
      expect(refusal(tail?.[1] ?? '', config.remote?.allow ?? [])).toBeUndefined();
    }
  });

  it('points every address at a compose service, on the port that service listens on', async () => {
    const zkPort = scriptPorts().get('LOGRELAY_ZK_PORT');
    const configs = [
      ...(await Promise.all(agentFiles.map(load.agent))),
      ...(await Promise.all(collectorFiles.map(load.collector))),
    ];
    for (const config of configs) {
      for (const address of config.cluster?.zookeeper.connect.split(',') ?? []) {
        expect(hostPort(address)).toEqual({ host: 'zookeeper', port: zkPort });
      }
    }
    for (const config of await Promise.all(agentFiles.map(load.agent))) {
      for (const endpoint of config.remote?.etcd.endpoints ?? []) {
        expect(hostPort(endpoint)).toEqual({
          host: 'etcd',
          port: scriptPorts().get('LOGRELAY_ETCD_PORT'),
        });
      }
      for (const collector of config.collectors) {
        expect(services[hostPort(collector).host], collector).toBeDefined();
      }
    }
    // Collectors reach Kafka on a listener the broker advertises under its service name.
    const advertised = services['kafka']?.environment?.['KAFKA_ADVERTISED_LISTENERS'] ?? '';
    for (const config of await Promise.all(collectorFiles.map(load.collector))) {
      for (const sink of config.sinks) {
        if (sink.type === 'kafka') {
          for (const broker of sink.brokers) expect(advertised).toContain(`//${broker}`);
        }
        if (sink.type === 'hdfs') {
          expect(hostPort(sink.namenodeUrl)).toEqual({
            host: 'namenode',
            port: scriptPorts().get('LOGRELAY_HDFS_HTTP_PORT'),
          });
        }
        if (sink.type === 'mongodb') {
          expect(hostPort(sink.url)).toEqual({
            host: 'mongodb',
            port: scriptPorts().get('LOGRELAY_MONGODB_PORT'),
          });
        }
        if (sink.type === 'hbase') {
          expect(hostPort(sink.url)).toEqual({
            host: 'hbase',
            port: scriptPorts().get('LOGRELAY_HBASE_REST_PORT'),
          });
        }
      }
    }
  });
});

describe('docker-compose.yml', () => {
  it('uses the ports of the test bed (the LOGRELAY_*_PORT defaults of scripts/services)', () => {
    // Each port variable: the service it belongs to and whether the host sees it there.
    const owners: Record<string, { service: string; published: boolean }> = {
      LOGRELAY_ZK_PORT: { service: 'zookeeper', published: true },
      LOGRELAY_ETCD_PORT: { service: 'etcd', published: true },
      LOGRELAY_ETCD_PEER_PORT: { service: 'etcd', published: false },
      LOGRELAY_MYSQL_PORT: { service: 'mysql', published: true },
      LOGRELAY_REDIS_PORT: { service: 'redis', published: true },
      LOGRELAY_KAFKA_PORT: { service: 'kafka', published: true },
      LOGRELAY_KAFKA_CONTROLLER_PORT: { service: 'kafka', published: false },
      LOGRELAY_HDFS_RPC_PORT: { service: 'namenode', published: true },
      LOGRELAY_HDFS_HTTP_PORT: { service: 'namenode', published: true },
      LOGRELAY_HDFS_DN_HTTP_PORT: { service: 'datanode', published: true },
      LOGRELAY_HDFS_DN_PORT: { service: 'datanode', published: true },
      LOGRELAY_HDFS_DN_IPC_PORT: { service: 'datanode', published: false },
      LOGRELAY_HIVE_METASTORE_PORT: { service: 'hive-metastore', published: true },
      LOGRELAY_MONGODB_PORT: { service: 'mongodb', published: true },
      LOGRELAY_HBASE_REST_PORT: { service: 'hbase', published: true },
      LOGRELAY_HBASE_ZK_PORT: { service: 'hbase', published: false },
    };
    const ports = scriptPorts();
    // A new port in the scripts needs a place here (and in the compose file).
    expect([...ports.keys()].sort()).toEqual(Object.keys(owners).sort());
    for (const [variable, port] of ports) {
      const { service, published } = owners[variable]!;
      const s = services[service];
      expect(s, service).toBeDefined();
      // Named in the service's own settings (listeners, addresses)...
      const settings = JSON.stringify([s?.command ?? [], s?.environment ?? {}]);
      const mapped = (s?.ports ?? []).map(portMapping);
      expect(
        settings.includes(`:${port}`) || mapped.some((p) => p.container === port),
        `${variable}=${port} in ${service}`,
      ).toBe(true);
      // ...and, for those the host reaches, published on the same port number.
      if (published)
        expect(mapped, `${variable}=${port}`).toContainEqual({ host: port, container: port });
    }
  });

  it('gives every long-running service a healthcheck; dependencies wait for it', () => {
    for (const [name, service] of Object.entries(services)) {
      const oneShot = service.restart === 'no';
      if (!oneShot)
        expect(service.healthcheck?.test.length, `${name}.healthcheck`).toBeGreaterThan(0);
      for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
        const target = services[dep];
        expect(target, `${name} depends on ${dep}`).toBeDefined();
        expect(condition, `${name} → ${dep}`).toBe(
          target?.restart === 'no' ? 'service_completed_successfully' : 'service_healthy',
        );
      }
    }
  });

  it('builds the logrelay services from the Dockerfile into one image', () => {
    // Built here too: hbase (no official image), from the test bed's own jar list.
    const logrelay = Object.entries(services).filter(
      ([name, s]) => s.build !== undefined && name !== 'hbase',
    );
    expect(logrelay.map(([name]) => name).sort()).toEqual(
      [
        'admin',
        'admin-migrate',
        ...agentFiles.map(serviceOf),
        ...collectorFiles.map(serviceOf),
      ].sort(),
    );
    for (const [name, service] of logrelay) {
      expect(service.image, name).toBe('logrelay:local');
      // The image's working folder holds state; the configuration is mounted read-only.
      expect(service.volumes, name).toContain(`./${deployDir.replace(/\/$/, '')}:${mountPoint}:ro`);
    }
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "\/app\/bin\/logrelay\.js"\]$/m);
    // Besides dist/, the built code reads from the package root: package.json (its version and
    // "type": "module"), bin/ (the entry point) and assets/ (the dashboard of `admin serve`).
    for (const path of ['package.json', 'bin', 'assets']) {
      expect(dockerfile, `the image has ${path}`).toMatch(new RegExp(`^COPY ${path}\\b`, 'm'));
    }
  });
});
