import { Writable } from 'node:stream';
import { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { OpsServer } from '../../../src/common/http/ops-server.js';
import { childLogger, createLogger } from '../../../src/common/logging/logger.js';
import { createMetricsRegistry } from '../../../src/common/metrics/registry.js';

const lines: Record<string, unknown>[] = [];
const rawLines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    rawLines.push(chunk.toString());
    lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
    done();
  },
});
const log = createLogger({ level: 'info' }, sink);

describe('OpsServer', () => {
  let server: OpsServer | undefined;
  afterEach(async () => {
    await server?.stop();
  });

  it('serves Prometheus metrics, liveness and readiness with reasons', async () => {
    const registry = createMetricsRegistry({ component: 'test' });
    const counter = new Counter({
      name: 'logrelay_test_lines_total',
      help: 'lines',
      registers: [registry],
    });
    counter.inc(3);
    server = new OpsServer({ host: '127.0.0.1', port: 0 }, registry, log);
    let sinksHealthy = false;
    server.addReadinessCheck('config', () => true);
    server.addReadinessCheck('sinks', () => (sinksHealthy ? true : 'kafka: broker unreachable'));
    await server.start();

    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toContain('logrelay_test_lines_total{component="test"} 3');
    expect(text).toContain('process_cpu_seconds_total');

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    const notReady = await fetch(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      ready: false,
      checks: { config: { ok: true }, sinks: { ok: false, reason: 'kafka: broker unreachable' } },
    });
    sinksHealthy = true;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('fails to start with LISTEN_FAILED when the port is taken, and stays stoppable', async () => {
    const registry = createMetricsRegistry({}, false);
    server = new OpsServer({ host: '127.0.0.1', port: 0 }, registry, log);
    await server.start();
    const port = Number(new URL(server.url).port);
    const clash = new OpsServer({ host: '127.0.0.1', port }, registry, log);
    await expect(clash.start()).rejects.toMatchObject({ code: 'LISTEN_FAILED' });
    await clash.stop();
  });
});

describe('logger', () => {
  it('writes JSON lines with nested namespaces', async () => {
    lines.length = 0;
    const sinkLog = childLogger(childLogger(log, 'collector'), 'sink.kafka', { sink: 'k1' });
    sinkLog.warn({ topic: 'app' }, 'slow broker');
    log.flush();
    await new Promise((r) => setTimeout(r, 20));
    // Each key once per line, even when bound at several levels.
    expect(rawLines.at(-1)?.match(/"ns"/g)).toHaveLength(1);
    expect(lines.at(-1)).toMatchObject({
      level: 'warn',
      ns: 'collector.sink.kafka',
      sink: 'k1',
      topic: 'app',
      msg: 'slow broker',
    });
  });
});
