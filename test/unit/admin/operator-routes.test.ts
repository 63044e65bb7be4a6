import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDashboardAssets } from '../../../src/admin/dashboard/assets.js';
import { ClusterMonitor } from '../../../src/admin/dashboard/cluster-monitor.js';
import { AdminApiServer } from '../../../src/admin/http/api-server.js';
import { AdminOperations } from '../../../src/admin/operations.js';
import { Store } from '../../../src/admin/store/store.js';
import { createLogger } from '../../../src/common/logging/logger.js';
import { createMetricsRegistry } from '../../../src/common/metrics/registry.js';

// The routes `admin serve` adds (page, readiness, metrics, cluster data) need no database: the
// store below is never used (its pool connects lazily) and ZooKeeper is unreachable on purpose.
const log = createLogger({ level: 'silent' });
const store = Store.open({ host: '127.0.0.1', port: 1, user: 'x', password: '', database: 'x' });
const ops = new AdminOperations(store, undefined);

describe('admin serve: dashboard, readiness and metrics routes', () => {
  const registry = createMetricsRegistry({}, false);
  // Port 1 on loopback refuses at once: the monitor reports ZooKeeper as unreachable.
  const monitor = new ClusterMonitor({ zookeeper: '127.0.0.1:1', intervalMs: 500 }, log, registry);
  const full = new AdminApiServer({ port: 0, token: 't' }, ops, log, {
    monitor,
    registry,
    assets: loadDashboardAssets(),
  });
  const bare = new AdminApiServer({ port: 0, token: 't' }, ops, log);

  beforeAll(async () => {
    await monitor.runNow();
    await full.start();
    await bare.start();
  });
  afterAll(async () => {
    await full.stop();
    await bare.stop();
    await monitor.stop();
    await store.close();
  });

  it('serves the page and its script with a strict content security policy', async () => {
    const page = await fetch(`${full.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await page.text()).toContain('<script type="module" src="/dashboard/app.js">');
    const script = await fetch(`${full.url}/dashboard/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toContain('/api/cluster');
    const css = await fetch(`${full.url}/dashboard/style.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await fetch(`${full.url}/`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${full.url}/dashboard/other.js`)).status).toBe(404);
  });

  it('says ZooKeeper is unreachable instead of showing a stale cluster as current', async () => {
    const cluster = await fetch(`${full.url}/api/cluster`);
    expect(cluster.status).toBe(200);
    const body = (await cluster.json()) as { connected: boolean; error: string; report: unknown };
    expect(body.connected).toBe(false);
    expect(body.report).toBeNull();
    expect(body.error.length).toBeGreaterThan(0);
    const ready = await fetch(`${full.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      status: 'not ready',
      checks: { zookeeper: expect.any(String) },
    });
    const metrics = await (await fetch(`${full.url}/metrics`)).text();
    expect(metrics).toMatch(/^logrelay_admin_zookeeper_connected 0$/m);
    expect(await (await fetch(`${full.url}/api/history`)).json()).toEqual({ points: [] });
  });

  it('without --zookeeper: a clear 404 for the cluster, ready when nothing else is checked', async () => {
    const cluster = await fetch(`${bare.url}/api/cluster`);
    expect(cluster.status).toBe(404);
    expect(((await cluster.json()) as { error: { message: string } }).error.message).toContain(
      '--zookeeper',
    );
    expect((await fetch(`${bare.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${bare.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${bare.url}/`)).status).toBe(404);
  });
});
