/**
 * Agent → collector over gRPC into a null sink. The collector runs as a child process
 * (`node bin/logrelay.js collector -c <yaml>`, from dist/) so each side has its own event loop
 * and core; the agent runs in this process, built from src/ as the agent command builds it,
 * with its default configuration, and tails the file from its beginning. The run ends when the
 * agent's acknowledged offset reaches the file's size. With `wireProxy` the agent dials a
 * byte-counting TCP proxy in a third process (bench/wire-proxy.ts) instead of the collector, so
 * the bytes on the wire each way are known without charging the copying to either side's CPU.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { Agent } from '../src/agent/agent.js';
import { agentConfigSchema } from '../src/agent/config.js';
import { validateConfig } from '../src/common/config/load-config.js';
import { createLogger } from '../src/common/logging/logger.js';
import type { ShipCompression } from '../src/common/wire/index.js';

const bin = fileURLToPath(new URL('../bin/logrelay.js', import.meta.url));
const wireProxyScript = fileURLToPath(new URL('./wire-proxy.ts', import.meta.url));

/** Bytes on the wire between agent and collector, counted by a proxy in a process of its own. */
export interface WireBytes {
  /** Agent → collector (batches, hello, HTTP/2 framing). */
  toCollector: number;
  /** Collector → agent (acks, HTTP/2 framing). */
  fromCollector: number;
  /** CPU seconds of the proxy process during the run (charged to neither side). */
  proxyCpuSeconds: number;
}

export interface RelayResult {
  /** File bytes acknowledged (newlines included). */
  bytes: number;
  /** Line content bytes acknowledged, from logrelay_agent_bytes_acked_total. */
  contentBytes: number;
  lines: number;
  batches: number;
  /** From agent.start() until the acked offset reached the file size, in seconds. */
  seconds: number;
  /** From agent.start() until the first batch was committed, in seconds. */
  firstAckSeconds: number;
  /** File bytes of the first committed batch (the steady rate leaves them out). */
  firstBatchBytes: number;
  /** Batches the agent had to send again (retry-after, disconnects). */
  retries: number;
  /** CPU seconds of the agent's process (this one) and of the collector's during the run. */
  agentCpuSeconds: number;
  collectorCpuSeconds: number | undefined;
  agentGcSeconds: number;
  /** Peak resident memory of the collector process, in bytes (Linux). */
  collectorPeakRssBytes: number | undefined;
  /**
   * Peak resident memory of this process during the run (the agent, with the bench's small
   * harness), sampled every 100 ms, in bytes.
   */
  agentPeakRssBytes: number;
  /** The agent's ship.compression. */
  compression: ShipCompression;
  /** Bytes on the wire, when the run went through the counting proxy. */
  wire: WireBytes | undefined;
  complete: boolean;
}

/** How a relay run differs from the default one. */
export interface RelayRunOptions {
  /** The agent's ship.compression. Default: the agent's default. */
  compression?: ShipCompression;
  /** Put the byte-counting proxy between agent and collector. Default: false. */
  wireProxy?: boolean;
  /** The agent's batch.maxWaitMs (files of unequal lines end in a part batch that lingers). */
  batchMaxWaitMs?: number;
}

interface WireProxy {
  port: number;
  /** The counts so far. */
  read(): Promise<Omit<WireBytes, 'proxyCpuSeconds'> & { cpuSeconds: number }>;
  child: ChildProcess;
}

async function startWireProxy(targetPort: number): Promise<WireProxy> {
  const child = spawn(process.execPath, ['--import', 'tsx', wireProxyScript, String(targetPort)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const queue: ((line: string) => void)[] = [];
  lines.on('line', (line) => queue.shift()?.(line));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('wire proxy did not answer')), 30_000);
      queue.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  const { port } = JSON.parse(await next()) as { port: number };
  return {
    port,
    child,
    read: async () => {
      const answer = next();
      child.stdin?.write('count\n');
      const c = JSON.parse(await answer) as {
        toTarget: number;
        fromTarget: number;
        cpuSeconds: number;
      };
      return { toCollector: c.toTarget, fromCollector: c.fromTarget, cpuSeconds: c.cpuSeconds };
    },
  };
}

let clockTicks: number | undefined;

/** user + system CPU seconds of a process, from /proc (undefined elsewhere). */
async function procCpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at index 2 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

async function procPeakRss(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function counterTotal(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((n, v) => n + v.value, 0);
}

export async function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export interface StartedCollector {
  child: ChildProcess;
  /** host:port the collector listens on, as it logged it. */
  address: string;
  /** The last 4000 characters the collector wrote to stderr. */
  stderr: () => string;
}

/** What the collector writes to, and which topic the agent's lines carry. */
export interface RelayTarget {
  /** The collector's one sink (a `sinks[]` entry). Default: a null sink. */
  sink: Record<string, unknown>;
  /** The tail's topic. Default: bench. */
  topic: string;
}

const NULL_TARGET: RelayTarget = { sink: { type: 'null', name: 'discard' }, topic: 'bench' };

/**
 * Starts `logrelay collector` with the target's sink on a port of its choosing (0) and waits for
 * its "collector started" log line, which holds the address: no port is picked in advance, so
 * no other process can take it in between.
 */
export async function startCollector(
  dir: string,
  timeoutMs: number,
  target: RelayTarget,
): Promise<StartedCollector> {
  const collectorYaml = join(dir, 'collector.yaml');
  // JSON is YAML.
  await writeFile(
    collectorYaml,
    JSON.stringify({
      id: 'bench-collector',
      listen: { host: '127.0.0.1', port: 0, drainTimeoutMs: 2000 },
      sinks: [target.sink],
      log: { level: 'info' },
    }),
  );
  // e.g. BENCH_COLLECTOR_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the collector.
  const nodeArgs = (process.env['BENCH_COLLECTOR_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, bin, 'collector', '-c', collectorYaml], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  let stderr = '';
  let partial = '';
  let onStarted: (address: string) => void = () => undefined;
  const started = new Promise<string>((resolve) => (onStarted = resolve));
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
    const lines = (partial + s).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('collector started')) continue;
      try {
        const entry = JSON.parse(line) as { msg?: string; address?: string };
        if (entry.msg === 'collector started' && entry.address) onStarted(entry.address);
      } catch {
        // not a log line of ours
      }
    }
  });
  const failed = new Promise<never>((_, reject) => {
    const timer = setTimeout(() => reject(new Error('collector did not start in time')), timeoutMs);
    started.finally(() => clearTimeout(timer)).catch(() => undefined);
    child.once('exit', (code, signal) =>
      reject(new Error(`collector exited while starting (${signal ?? code})`)),
    );
  });
  try {
    const address = await Promise.race([started, failed]);
    failed.catch(() => undefined); // an exit later is handled by the run
    return { child, address, stderr: () => stderr };
  } catch (err) {
    await stopChild(child, 2000);
    throw new Error(`${(err as Error).message}: ${stderr.trim() || '(nothing on stderr)'}`);
  }
}

let runs = 0;

/** Children to kill if the bench is interrupted. */
export const liveChildren = new Set<ChildProcess>();

/** Ships `path` (of `size` bytes) through a collector child process into its sink. */
export async function benchRelay(
  path: string,
  size: number,
  dir: string,
  /** Cap on the run from the agent's start (the collector's start is not counted). */
  timeoutMs: number,
  target: RelayTarget = NULL_TARGET,
  options: RelayRunOptions = {},
): Promise<RelayResult> {
  const { child, address, stderr } = await startCollector(dir, 30_000, target);
  let agent: Agent | undefined;
  let proxy: WireProxy | undefined;
  let timer: NodeJS.Timeout | undefined;
  let observer: PerformanceObserver | undefined;
  try {
    if (options.wireProxy) proxy = await startWireProxy(Number(address.split(':').pop()));
    const level = process.env['BENCH_AGENT_LOG_LEVEL'] === 'info' ? 'info' : 'warn';
    const log = createLogger({ level, name: 'bench-agent' });
    agent = new Agent(
      validateConfig(
        agentConfigSchema,
        {
          // An id of its own per run: exactly-once keeps marks per agent in Kafka, and a second
          // run of the same file under the same id would rightly be skipped as delivered.
          id: `bench-agent-${process.pid}-${runs + 1}`,
          host: 'bench-host',
          collectors: [proxy ? `127.0.0.1:${proxy.port}` : address],
          tails: [{ paths: [path], topic: target.topic }],
          // A fresh registry each run, so the agent starts at the file's beginning.
          checkpoint: { path: join(dir, `agent-${++runs}.registry.json`) },
          ...(options.compression ? { ship: { compression: options.compression } } : {}),
          ...(options.batchMaxWaitMs !== undefined
            ? { batch: { maxWaitMs: options.batchMaxWaitMs } }
            : {}),
        },
        'bench agent',
      ),
      log,
    );
    const a = agent;

    let batches = 0;
    let lines = 0;
    let firstAckAt: bigint | undefined;
    let firstBatchBytes = 0;
    let finish: (complete: boolean) => void = () => undefined;
    const done = new Promise<boolean>((resolve) => (finish = resolve));
    a.onCommitted = (batch) => {
      if (firstAckAt === undefined) {
        firstAckAt = process.hrtime.bigint();
        firstBatchBytes = batch.endOffset - batch.startOffset;
      }
      batches++;
      lines += batch.lineLengths.length;
      // The agent settles the batch (moves its acked offset) right after this call.
      queueMicrotask(() => {
        if ((a.streams[0]?.acked ?? 0) >= size) finish(true);
      });
    };
    const exited = () => finish(false);
    child.once('exit', exited);
    timer = setTimeout(() => finish(false), timeoutMs);

    let gcMs = 0;
    observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcMs += entry.duration;
    });
    observer.observe({ entryTypes: ['gc'] });
    const collectorCpu0 = await procCpuSeconds(child.pid as number);
    const wire0 = await proxy?.read();
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    let agentPeakRss = process.memoryUsage.rss();
    const sampler = setInterval(() => {
      agentPeakRss = Math.max(agentPeakRss, process.memoryUsage.rss());
    }, 100);
    await a.start();
    const complete = await done.finally(() => clearInterval(sampler));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    const collectorCpu1 = await procCpuSeconds(child.pid as number);
    const wire1 = await proxy?.read();
    child.off('exit', exited);
    // GC entries are delivered asynchronously: let the last ones arrive.
    await new Promise((resolve) => setImmediate(resolve));

    if (!complete && (child.exitCode !== null || child.signalCode !== null)) {
      const how = child.signalCode ?? child.exitCode;
      throw new Error(`collector exited during the run (${how}): ${stderr().trim()}`);
    }
    return {
      bytes: a.streams[0]?.acked ?? 0,
      contentBytes: await counterTotal(a.registry, 'logrelay_agent_bytes_acked_total'),
      lines,
      batches,
      seconds,
      firstAckSeconds: firstAckAt === undefined ? Number.NaN : Number(firstAckAt - started) / 1e9,
      firstBatchBytes,
      retries: await counterTotal(a.registry, 'logrelay_agent_retries_total'),
      agentCpuSeconds: (used.user + used.system) / 1e6,
      collectorCpuSeconds:
        collectorCpu0 !== undefined && collectorCpu1 !== undefined
          ? collectorCpu1 - collectorCpu0
          : undefined,
      agentGcSeconds: gcMs / 1e3,
      collectorPeakRssBytes: await procPeakRss(child.pid as number),
      agentPeakRssBytes: agentPeakRss,
      compression: a.config.ship.compression,
      wire:
        wire0 && wire1
          ? {
              toCollector: wire1.toCollector - wire0.toCollector,
              fromCollector: wire1.fromCollector - wire0.fromCollector,
              proxyCpuSeconds: wire1.cpuSeconds - wire0.cpuSeconds,
            }
          : undefined,
      complete,
    };
  } finally {
    clearTimeout(timer);
    observer?.disconnect();
    if (agent) await agent.stop().catch(() => undefined);
    if (proxy) {
      proxy.child.stdin?.end();
      await stopChild(proxy.child, 2000);
    }
    await stopChild(child, 5000);
  }
}
