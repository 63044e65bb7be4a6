import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DaemonSet, type IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { StatefulSet, type IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import {
  PodDisruptionBudget,
  type IPodDisruptionBudget,
} from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Namespace, type INamespace } from 'kubernetes-models/v1/Namespace';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { ServiceAccount, type IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { afterAll, describe, expect, it } from 'vitest';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { agentConfigSchema } from '../../../src/agent/config.js';
import { collectorConfigSchema } from '../../../src/collector/config.js';
import { ConfigError } from '../../../src/common/config/config-error.js';
import { loadConfigFile, parseConfig } from '../../../src/common/config/load-config.js';
import { tempDir } from '../../helpers/temp-dir.js';

// deploy/kubernetes/ is checked without a cluster: every manifest parses as kubectl reads it
// (YAML 1.1, no duplicate keys) and validates against the Kubernetes 1.33 OpenAPI schemas
// (the kubernetes-models package: types, enums, required fields, formats). Those schemas allow
// unknown fields, which the API server refuses (kubectl's strict field validation): the same
// package's type declarations catch them, through the TypeScript compiler's excess-property check.
// What no schema sees is checked here (names that must match across objects, ports, mounts); and
// the agent and collector configurations in the ConfigMaps are rendered by the pods' own init
// containers and loaded with the loader and schemas the processes start with.
const root = new URL('../../../', import.meta.url);
const deployDir = 'deploy/kubernetes/';
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | undefined;
  doc: Record<string, unknown>;
}

const files = readdirSync(new URL(deployDir, root))
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const manifestFiles = files.filter((f) => f !== 'kustomization.yaml');

function parseFile(file: string) {
  // As kubectl reads manifests (sigs.k8s.io/yaml on go-yaml: YAML 1.1, duplicate keys refused).
  return parseAllDocuments(read(deployDir + file), { version: '1.1', uniqueKeys: true });
}

const manifests: Manifest[] = manifestFiles.flatMap((file) => {
  const docs = parseFile(file);
  if (!Array.isArray(docs)) throw new Error(`${file}: nothing after the document end`);
  return docs.map((d) => {
    const doc = d.toJS() as Record<string, unknown>;
    const metadata = (doc['metadata'] ?? {}) as { name?: string; namespace?: string };
    return {
      file,
      apiVersion: String(doc['apiVersion']),
      kind: String(doc['kind']),
      name: String(metadata.name),
      namespace: metadata.namespace,
      doc,
    };
  });
});

/** The schema of each kind the folder may hold, by `apiVersion/kind`. */
const schemas: Record<string, (doc: Record<string, unknown>) => void> = {
  'v1/Namespace': (d) => new Namespace(d as unknown as INamespace).validate(),
  'v1/ServiceAccount': (d) => new ServiceAccount(d as unknown as IServiceAccount).validate(),
  'v1/ConfigMap': (d) => new ConfigMap(d as unknown as IConfigMap).validate(),
  'v1/Service': (d) => new Service(d as unknown as IService).validate(),
  'apps/v1/DaemonSet': (d) => new DaemonSet(d as unknown as IDaemonSet).validate(),
  'apps/v1/StatefulSet': (d) => new StatefulSet(d as unknown as IStatefulSet).validate(),
  'policy/v1/PodDisruptionBudget': (d) =>
    new PodDisruptionBudget(d as unknown as IPodDisruptionBudget).validate(),
};

/** The kubernetes-models module and interface declaring each kind, by `apiVersion/kind`. */
const declarations: Record<string, [module: string, type: string]> = {
  'v1/Namespace': ['kubernetes-models/v1/Namespace', 'INamespace'],
  'v1/ServiceAccount': ['kubernetes-models/v1/ServiceAccount', 'IServiceAccount'],
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'IConfigMap'],
  'v1/Service': ['kubernetes-models/v1/Service', 'IService'],
  'apps/v1/DaemonSet': ['kubernetes-models/apps/v1/DaemonSet', 'IDaemonSet'],
  'apps/v1/StatefulSet': ['kubernetes-models/apps/v1/StatefulSet', 'IStatefulSet'],
  'policy/v1/PodDisruptionBudget': [
    'kubernetes-models/policy/v1/PodDisruptionBudget',
    'IPodDisruptionBudget',
  ],
};

/**
 * Type-checks each object as a literal of its kind's declared interface: a key the interface
 * does not have (at any depth) is an excess-property error, as the API server's strict field
 * validation would refuse it. One compiler program for all (a few seconds). Returns the
 * diagnostics by label.
 */
function strictFieldErrors(objects: { label: string; key: string; doc: unknown }[]) {
  const dir = fileURLToPath(new URL('test/unit/deploy/', root));
  const sources = new Map<string, { label: string; text: string }>();
  objects.forEach(({ label, key, doc }, i) => {
    const [module, type] = declarations[key] ?? ['', ''];
    const text =
      `import type { ${type} } from '${module}';\n` +
      `export const manifest: ${type} = ${JSON.stringify(doc, null, 1)};\n`;
    sources.set(join(dir, `__manifest-${i}.ts`), { label, text });
  });
  const host = ts.createCompilerHost({});
  const readSource = host.getSourceFile.bind(host);
  const exists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) => {
    const virtual = sources.get(name);
    return virtual
      ? ts.createSourceFile(name, virtual.text, language)
      : readSource(name, language, ...rest);
  };
  host.fileExists = (name) => sources.has(name) || exists(name);
  const program = ts.createProgram(
    [...sources.keys()],
    {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
    },
    host,
  );
  const errors = new Map<string, string[]>(objects.map((o) => [o.label, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const label = sources.get(d.file?.fileName ?? '')?.label ?? d.file?.fileName ?? '(program)';
    const list = errors.get(label) ?? [];
    list.push(ts.flattenDiagnosticMessageText(d.messageText, ' '));
    errors.set(label, list);
  }
  return errors;
}

function only<T>(kind: string, name?: string): T {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.name === name));
  expect(
    found.map((m) => m.name),
    `one ${kind} ${name ?? ''}`,
  ).toHaveLength(1);
  return found[0]?.doc as T;
}
const ofKind = <T>(kind: string): T[] =>
  manifests.filter((m) => m.kind === kind).map((m) => m.doc as T);

const daemonSet = only<IDaemonSet>('DaemonSet');
const statefulSet = only<IStatefulSet>('StatefulSet');
const workloads: { kind: string; name: string; spec: IPodSpec; labels: Record<string, string> }[] =
  [daemonSet, statefulSet].map((w) => ({
    kind: w.kind,
    name: w.metadata?.name ?? '',
    spec: w.spec?.template.spec as IPodSpec,
    labels: w.spec?.template.metadata?.labels ?? {},
  }));
const configMaps = ofKind<IConfigMap>('ConfigMap');
const services = ofKind<IService>('Service');

const podContainers = (spec: IPodSpec): IContainer[] => [
  ...(spec.initContainers ?? []),
  ...spec.containers,
];

/** The mount holding `path` in a container (the deepest one), and its volume. */
function mountOf(spec: IPodSpec, container: IContainer, path: string) {
  const mounts = (container.volumeMounts ?? []).filter(
    (m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`),
  );
  const mount = mounts.sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const volume = spec.volumes?.find((v) => v.name === mount?.name);
  return mount && volume ? { mount, volume } : undefined;
}

/** A container port by name or number (how probes and Services refer to one). */
function portOf(container: IContainer, port: string | number | undefined) {
  return (container.ports ?? []).find((p) =>
    typeof port === 'number' ? p.containerPort === port : p.name === port,
  );
}

const probePort = (probe: IProbe | undefined): string | number | undefined =>
  probe?.httpGet?.port ?? probe?.grpc?.port ?? probe?.tcpSocket?.port;

/** The value the downward API gives each `fieldRef` the render scripts use, in the tests. */
const fieldValues: Record<string, string> = {
  'spec.nodeName': 'node-a.example.internal',
  'metadata.name': 'logrelay-collector-1',
  'metadata.namespace': 'logrelay',
};

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/**
 * Runs the pod's `render-config` init container script with `sh`, with every path it names mapped
 * to a temp folder standing for the volume mounted there (ConfigMap volumes hold the ConfigMap's
 * items), and returns where the main container's `-c` file is in those folders.
 */
async function render(
  workload: (typeof workloads)[number],
  env: Record<string, string>,
): Promise<{ status: number | null; stderr: string; configFile: string }> {
  const { dir, cleanup } = await tempDir('logrelay-k8s-');
  cleanups.push(cleanup);
  const { spec } = workload;
  const init = spec.initContainers?.find((c) => c.name === 'render-config');
  const main = spec.containers[0];
  if (!init || !main) throw new Error(`${workload.name}: no render-config or main container`);
  const volumeDir = (volume: IVolume) => {
    const path = join(dir, volume.name);
    mkdirSync(path, { recursive: true });
    const cm = configMaps.find((c) => c.metadata?.name === volume.configMap?.name);
    for (const item of volume.configMap?.items ?? []) {
      writeFileSync(join(path, item.path), cm?.data?.[item.key] ?? '');
    }
    return path;
  };
  const local = (container: IContainer, path: string) => {
    const found = mountOf(spec, container, path);
    if (!found) throw new Error(`${container.name}: nothing mounted at ${path}`);
    const base = join(volumeDir(found.volume), found.mount.subPath ?? '');
    return base + path.slice(found.mount.mountPath.length);
  };
  expect(init.command?.slice(0, 2)).toEqual(['/bin/sh', '-ec']);
  let script = init.command?.[2] ?? '';
  const mountPaths = (init.volumeMounts ?? []).map((m) => m.mountPath);
  for (const path of mountPaths.sort((a, b) => b.length - a.length)) {
    script = script.split(path).join(local(init, path));
  }
  const run = spawnSync('/bin/sh', ['-ec', script], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
  });
  // The image's entrypoint is `node /app/bin/logrelay.js`: the args are `<role> -c <file>`.
  const args = main.args ?? [];
  expect(main.command).toBeUndefined();
  expect(args.slice(0, 2)).toEqual([workload.kind === 'DaemonSet' ? 'agent' : 'collector', '-c']);
  expect(args).toHaveLength(3);
  return { status: run.status, stderr: run.stderr, configFile: local(main, args[2] ?? '') };
}

/** The env of the render script as the downward API fills it (fieldRef → fieldValues). */
function downwardEnv(workload: (typeof workloads)[number]): Record<string, string> {
  const init = workload.spec.initContainers?.find((c) => c.name === 'render-config');
  return Object.fromEntries(
    (init?.env ?? []).map((e) => {
      const field = e.valueFrom?.fieldRef?.fieldPath ?? '';
      expect(fieldValues[field], `${workload.name} ${e.name} from ${field}`).toBeDefined();
      return [e.name, fieldValues[field] as string];
    }),
  );
}

const agentWorkload = workloads.find((w) => w.kind === 'DaemonSet')!;
const collectorWorkload = workloads.find((w) => w.kind === 'StatefulSet')!;

async function loadAgent() {
  const out = await render(agentWorkload, downwardEnv(agentWorkload));
  expect(out.stderr).toBe('');
  expect(out.status).toBe(0);
  return loadConfigFile(agentConfigSchema, out.configFile);
}

async function loadCollector() {
  const out = await render(collectorWorkload, downwardEnv(collectorWorkload));
  expect(out.stderr).toBe('');
  expect(out.status).toBe(0);
  return loadConfigFile(collectorConfigSchema, out.configFile);
}

/** Every `file:` a configuration names (tokens, passwords, certificates), with its key path. */
function filesNamed(value: unknown, path = ''): { path: string; file: string }[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const at = path === '' ? key : `${path}.${key}`;
    if (key === 'file' && typeof child === 'string') return [{ path: at, file: child }];
    return filesNamed(child, at);
  });
}

describe('deploy/kubernetes/ manifests', () => {
  it('are listed once each in kustomization.yaml, which lists nothing else', () => {
    const kustomization = parseFile('kustomization.yaml');
    expect(Array.isArray(kustomization)).toBe(true);
    const [doc] = Array.isArray(kustomization) ? kustomization : [];
    const k = doc?.toJS() as Record<string, unknown>;
    expect(Object.keys(k).sort()).toEqual(['apiVersion', 'kind', 'resources']);
    expect(k['apiVersion']).toBe('kustomize.config.k8s.io/v1beta1');
    expect(k['kind']).toBe('Kustomization');
    const resources = k['resources'] as string[];
    expect([...resources].sort()).toEqual(manifestFiles);
    expect(new Set(resources).size).toBe(resources.length);
  });

  it('parse as YAML 1.1 without errors, warnings or duplicate keys', () => {
    for (const file of files) {
      const docs = parseFile(file);
      const list = Array.isArray(docs) ? docs : [docs];
      for (const doc of list) {
        expect(
          doc.errors.map((e) => e.message),
          file,
        ).toEqual([]);
        expect(
          doc.warnings.map((e) => e.message),
          file,
        ).toEqual([]);
        expect(doc.contents, `${file}: an empty document`).not.toBeNull();
      }
    }
  });

  it('hold the objects of one agent DaemonSet and one collector StatefulSet', () => {
    expect(manifests.map((m) => `${m.kind}/${m.name}`).sort()).toEqual([
      'ConfigMap/logrelay-agent',
      'ConfigMap/logrelay-collector',
      'DaemonSet/logrelay-agent',
      'Namespace/logrelay',
      'PodDisruptionBudget/logrelay-collector',
      'Service/logrelay-collector',
      'Service/logrelay-collector-headless',
      'ServiceAccount/logrelay-agent',
      'ServiceAccount/logrelay-collector',
      'StatefulSet/logrelay-collector',
    ]);
  });

  it.each(manifests.map((m) => [`${m.file}: ${m.kind}/${m.name}`, m] as const))(
    '%s validates against the Kubernetes OpenAPI schema',
    (_, m) => {
      const validate = schemas[`${m.apiVersion}/${m.kind}`];
      expect(validate, `a schema for ${m.apiVersion} ${m.kind}`).toBeDefined();
      expect(() => validate?.(m.doc)).not.toThrow();
    },
  );

  it('has a schema check that refuses what the API server would', () => {
    const broken = structuredClone(daemonSet) as unknown as Record<string, unknown>;
    const spec = (broken['spec'] as { template: { spec: IPodSpec } }).template.spec;
    (spec.containers[0]?.ports?.[0] as { containerPort: unknown }).containerPort = 'metrics';
    expect(() => schemas['apps/v1/DaemonSet']?.(broken)).toThrow(/containerPort must be integer/);
    const noSelector = structuredClone(statefulSet) as unknown as Record<string, unknown>;
    delete (noSelector['spec'] as { selector?: unknown }).selector;
    expect(() => schemas['apps/v1/StatefulSet']?.(noSelector)).toThrow(/selector/);
  });

  it('use only the fields the Kubernetes API declares (strict field validation)', () => {
    // A misspelt key is caught (the negative control), at any depth, with its name.
    const typo = structuredClone(daemonSet) as unknown as {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    const container = typo.spec.template.spec.containers[0] ?? {};
    container['volumeMount'] = container['volumeMounts'];
    const errors = strictFieldErrors([
      ...manifests.map((m) => ({
        label: `${m.file}: ${m.kind}/${m.name}`,
        key: `${m.apiVersion}/${m.kind}`,
        doc: m.doc,
      })),
      { label: 'typo', key: 'apps/v1/DaemonSet', doc: typo },
    ]);
    expect(errors.get('typo')).toEqual([
      `Object literal may only specify known properties, and '"volumeMount"' does not exist in type 'IContainer'.`,
    ]);
    errors.delete('typo');
    expect(Object.fromEntries(errors)).toEqual(
      Object.fromEntries(manifests.map((m) => [`${m.file}: ${m.kind}/${m.name}`, []])),
    );
  }, 60_000); // one compiler program over the models' declarations: seconds, more on a busy machine

  it('put every object in the namespace they create', () => {
    const ns = only<INamespace>('Namespace');
    const namespace = ns.metadata?.name;
    expect(namespace).toBe('logrelay');
    // The agents' hostPath volumes are refused below the privileged Pod Security level.
    expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
    for (const m of manifests.filter((x) => x.kind !== 'Namespace')) {
      expect(m.namespace, `${m.kind}/${m.name}`).toBe(namespace);
    }
  });

  it.each(workloads.map((w) => [w.kind, w] as const))(
    '%s: selector, service account, image, resources',
    (_, w) => {
      const doc = w.kind === 'DaemonSet' ? daemonSet : statefulSet;
      const selector = doc.spec?.selector.matchLabels ?? {};
      expect(Object.keys(selector).length).toBeGreaterThan(0);
      for (const [key, value] of Object.entries(selector)) expect(w.labels[key]).toBe(value);
      expect(ofKind<IServiceAccount>('ServiceAccount').map((s) => s.metadata?.name)).toContain(
        w.spec.serviceAccountName,
      );
      expect(w.spec.automountServiceAccountToken).toBe(false);
      for (const c of podContainers(w.spec)) {
        expect(c.image, c.name).toBe('logrelay:latest');
        for (const limit of ['requests', 'limits'] as const) {
          expect(Object.keys(c.resources?.[limit] ?? {}).sort(), `${c.name} ${limit}`).toEqual([
            'cpu',
            'memory',
          ]);
        }
        expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
        expect(c.securityContext?.readOnlyRootFilesystem, c.name).toBe(true);
        expect(c.securityContext?.capabilities?.drop, c.name).toEqual(['ALL']);
      }
    },
  );

  it.each(workloads.map((w) => [w.kind, w] as const))(
    '%s: every mount names a volume, every volume is mounted, ConfigMap keys exist',
    (_, w) => {
      const volumes = (w.spec.volumes ?? []).map((v) => v.name);
      expect(new Set(volumes).size).toBe(volumes.length);
      const mounted = new Set<string>();
      for (const c of podContainers(w.spec)) {
        const paths = (c.volumeMounts ?? []).map((m: IVolumeMount) => m.mountPath);
        expect(new Set(paths).size, `${c.name}: one mount per path`).toBe(paths.length);
        for (const m of c.volumeMounts ?? []) {
          expect(volumes, `${c.name} mounts ${m.name}`).toContain(m.name);
          mounted.add(m.name);
        }
      }
      expect([...mounted].sort()).toEqual([...volumes].sort());
      for (const v of w.spec.volumes ?? []) {
        if (!v.configMap) continue;
        const cm = configMaps.find((c) => c.metadata?.name === v.configMap?.name);
        expect(cm, `ConfigMap ${v.configMap.name}`).toBeDefined();
        expect(v.configMap.items?.length).toBeGreaterThan(0);
        for (const item of v.configMap.items ?? []) {
          expect(Object.keys(cm?.data ?? {}), `${v.name}: key ${item.key}`).toContain(item.key);
        }
      }
    },
  );

  it('refer to Secrets they do not create, each documented in the README', () => {
    const readme = read('README.md');
    const secrets = new Set<string>();
    for (const w of workloads) {
      for (const v of w.spec.volumes ?? []) if (v.secret) secrets.add(v.secret.secretName ?? '');
    }
    expect([...secrets]).toEqual(['logrelay-agent-token']);
    expect(ofKind('Secret')).toEqual([]);
    for (const name of secrets) {
      expect(readme).toContain(`kubectl -n logrelay create secret generic ${name}`);
    }
  });

  it.each(workloads.map((w) => [w.kind, w] as const))(
    '%s: probes use ports the container declares',
    (_, w) => {
      for (const c of w.spec.containers) {
        for (const probe of [c.livenessProbe, c.readinessProbe]) {
          expect(probe, `${c.name} has liveness and readiness probes`).toBeDefined();
          expect(portOf(c, probePort(probe)), `${c.name} probe port`).toBeDefined();
        }
      }
    },
  );

  it('give each Service a workload whose pods declare its target ports', () => {
    for (const service of services) {
      const name = service.metadata?.name;
      const selector = service.spec?.selector ?? {};
      const selected = workloads.filter((w) =>
        Object.entries(selector).every(([k, v]) => w.labels[k] === v),
      );
      expect(
        selected.map((w) => w.name),
        `${name} selects one workload`,
      ).toEqual(['logrelay-collector']);
      const container = selected[0]?.spec.containers[0];
      for (const port of service.spec?.ports ?? []) {
        expect(
          container && portOf(container, port.targetPort ?? port.port),
          `${name}: ${port.name}`,
        ).toBeDefined();
      }
    }
  });

  it('run the collectors under a headless Service that publishes not-ready pods, and a PDB', () => {
    const headless = services.find((s) => s.metadata?.name === statefulSet.spec?.serviceName);
    expect(headless?.spec?.clusterIP).toBe('None');
    expect(headless?.spec?.publishNotReadyAddresses).toBe(true);
    const pdb = only<IPodDisruptionBudget>('PodDisruptionBudget');
    expect(pdb.spec?.selector?.matchLabels).toEqual(statefulSet.spec?.selector.matchLabels);
    expect(pdb.spec?.maxUnavailable).toBe(1);
    expect(statefulSet.spec?.replicas).toBe(3);
  });
});

describe('deploy/kubernetes/ agent DaemonSet and its configuration', () => {
  const spec = agentWorkload.spec;
  const agent = spec.containers.find((c) => c.name === 'agent') as IContainer;

  it('renders the ConfigMap with the node name and loads it with the agent schema', async () => {
    const config = await loadAgent();
    expect(config.id).toBe(fieldValues['spec.nodeName']);
    expect(config.host).toBe(fieldValues['spec.nodeName']);
    expect(config.tails.map((t) => t.paths)).toEqual([['/var/log/pods/*/*/*.log*']]);
    expect(config.tails[0]?.format).toBe('cri');
    expect(config.tails[0]?.topic).toBe('k8s-containers');
    expect(config.collectors).toEqual([]);
    expect(config.cluster?.zookeeper.root).toBe('/logrelay');
  });

  it('cannot run unrendered (id refused) nor render without the node name', async () => {
    const text = configMaps.find((c) => c.metadata?.name === 'logrelay-agent')?.data?.[
      'agent.yaml'
    ];
    let error: unknown;
    try {
      parseConfig(agentConfigSchema, text ?? '', 'agent.yaml');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['id']);
    const out = await render(agentWorkload, {});
    expect(out.status).not.toBe(0);
    expect(out.stderr).toContain('NODE_NAME');
  });

  it('takes the node name from the downward API', () => {
    const init = spec.initContainers?.find((c) => c.name === 'render-config');
    expect(init?.env).toEqual([
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ]);
  });

  it('mounts the tailed folders and their symlink targets read-only from the same host paths', async () => {
    const config = await loadAgent();
    // /var/log/pods/ holds the files (containerd, CRI-O), or on Docker Engine nodes (cri-dockerd)
    // links into /var/lib/docker/containers/: the links are absolute host paths, so each must be
    // the same path in the container.
    const linkTargets: Record<string, string[]> = {
      '/var/log/pods': ['/var/lib/docker/containers'],
    };
    const folders = config.tails.flatMap((t) =>
      t.paths.map((p) => p.replace(/\/[^/]*[*?[].*$/, '')),
    );
    expect(folders).toEqual(['/var/log/pods']);
    for (const folder of folders.flatMap((f) => [f, ...(linkTargets[f] ?? [])])) {
      const found = mountOf(spec, agent, folder);
      expect(found, folder).toBeDefined();
      expect(found?.mount.readOnly, folder).toBe(true);
      const hostPath = found?.volume.hostPath?.path ?? '';
      expect(hostPath + folder.slice(found?.mount.mountPath.length ?? 0), folder).toBe(folder);
    }
  });

  it('keeps the registry on the node (hostPath), written by one agent at a time', async () => {
    const config = await loadAgent();
    const found = mountOf(spec, agent, config.checkpoint.path);
    expect(found?.volume.hostPath).toEqual({
      path: '/var/lib/logrelay',
      type: 'DirectoryOrCreate',
    });
    expect(found?.mount.readOnly).toBeUndefined();
    expect(dirname(config.checkpoint.path)).toBe(found?.mount.mountPath);
    // Two pods on one node would share the registry: the old one stops before the new starts.
    expect(daemonSet.spec?.updateStrategy?.rollingUpdate?.maxSurge).toBe(0);
  });

  it('runs on every node and probes the port of its http section', async () => {
    const config = await loadAgent();
    expect(spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(config.http.host).toBe('0.0.0.0');
    expect(portOf(agent, 'metrics')?.containerPort).toBe(config.http.port);
    expect(agent.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(agent.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
  });

  it('mounts every file its configuration names', async () => {
    const named = filesNamed(await loadAgent());
    expect(named).toEqual([{ path: 'ship.token.file', file: '/etc/logrelay/secrets/token' }]);
    for (const { path, file } of named) {
      const found = mountOf(spec, agent, file);
      expect(found, path).toBeDefined();
      const key = file.slice((found?.mount.mountPath.length ?? 0) + 1);
      expect(
        found?.volume.secret?.items?.map((i) => i.path),
        path,
      ).toContain(key);
    }
  });
});

describe('deploy/kubernetes/ collector StatefulSet and its configuration', () => {
  const spec = collectorWorkload.spec;
  const collector = spec.containers.find((c) => c.name === 'collector') as IContainer;

  it('renders the ConfigMap with the pod name and loads it with the collector schema', async () => {
    const config = await loadCollector();
    const pod = fieldValues['metadata.name'];
    expect(config.id).toBe(pod);
    expect(config.listen.host).toBe('0.0.0.0');
    // Agents dial this pod's DNS name under the StatefulSet's headless Service.
    expect(config.cluster?.advertise).toBe(
      `${pod}.${statefulSet.spec?.serviceName}.${fieldValues['metadata.namespace']}.svc:${config.listen.port}`,
    );
    expect(config.sinks.map((s) => `${s.type}/${s.name}`)).toEqual(['kafka/kafka']);
    const kafka = config.sinks[0];
    expect(kafka?.type === 'kafka' && kafka.exactlyOnce).toBeTruthy();
  });

  it('cannot render without the pod name and namespace', async () => {
    const out = await render(collectorWorkload, {});
    expect(out.status).not.toBe(0);
    expect(out.stderr).toContain('POD_NAME');
    const init = spec.initContainers?.find((c) => c.name === 'render-config');
    expect(init?.env?.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath])).toEqual([
      ['POD_NAME', 'metadata.name'],
      ['POD_NAMESPACE', 'metadata.namespace'],
    ]);
  });

  it('declares and probes the ports of its listen and http sections', async () => {
    const config = await loadCollector();
    expect(portOf(collector, 'grpc')?.containerPort).toBe(config.listen.port);
    expect(portOf(collector, 'metrics')?.containerPort).toBe(config.http.port);
    expect(config.http.host).toBe('0.0.0.0');
    // The kubelet's gRPC probe speaks plaintext only.
    expect(collector.readinessProbe?.grpc).toEqual({ port: config.listen.port });
    expect(config.listen.tls).toBeUndefined();
    expect(collector.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
  });

  it('gives a graceful stop longer than the drain', async () => {
    const config = await loadCollector();
    expect((spec.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(
      config.listen.drainTimeoutMs,
    );
  });

  it('accepts the token the agents present, from the same Secret key', async () => {
    const [config, agentConfig] = await Promise.all([loadCollector(), loadAgent()]);
    const named = filesNamed(config);
    expect(named).toEqual([
      { path: 'auth.tokens.0.token.file', file: '/etc/logrelay/secrets/token' },
    ]);
    expect(config.auth?.tokens.map((t) => t.agent)).toEqual(['*']);
    const agentMount = mountOf(
      agentWorkload.spec,
      agentWorkload.spec.containers[0]!,
      agentConfig.ship.token?.file ?? '',
    );
    const mine = mountOf(spec, collector, named[0]?.file ?? '');
    expect(mine?.volume.secret?.secretName).toBe(agentMount?.volume.secret?.secretName);
    expect(mine?.volume.secret?.items).toEqual(agentMount?.volume.secret?.items);
  });

  it('shares one ZooKeeper cluster root with the agents', async () => {
    const [config, agentConfig] = await Promise.all([loadCollector(), loadAgent()]);
    expect(agentConfig.cluster?.zookeeper.connect).toBe(config.cluster?.zookeeper.connect);
    expect(agentConfig.cluster?.zookeeper.root).toBe(config.cluster?.zookeeper.root);
  });
});
