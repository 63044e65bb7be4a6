import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect as connectHttp2 } from 'node:http2';
import { createGzip } from 'node:zlib';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { Collector } from '../../src/collector/collector.js';
import { compressionOptions, wireDefaults } from '../../src/common/wire/index.js';
import { makeBatch } from '../helpers/batches.js';
import { RawShip } from '../helpers/raw-client.js';
import {
  countLines,
  exactlyOnce,
  readAllLines,
  startAgent,
  startCollector,
} from '../helpers/relay.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue 15 item 6: wire compression between agent and collector (ship.compression), negotiated
// per stream by grpc-js's grpc-encoding / grpc-accept-encoding headers.
describe('wire compression: agent → gRPC (gzip) → collector → file sink', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function setup() {
    const { dir, cleanup } = await tempDir();
    stops.push(cleanup);
    const out = join(dir, 'out');
    const collector = await startCollector({
      id: 'c1',
      sinks: [{ type: 'file', name: 'out', directory: out, fsync: false }],
    });
    stops.push(() => collector.stop());
    return { dir, out, collector };
  }

  /** A proxy in front of the collector that counts the bytes on the wire. */
  async function proxyTo(collector: Collector): Promise<TcpProxy> {
    const proxy = new TcpProxy({ host: '127.0.0.1', port: collector.server.port });
    await proxy.up();
    stops.push(() => proxy.down());
    return proxy;
  }

  /** Access-log-like lines, each with a unique id: compressible as real logs are, not more. */
  async function writeLog(path: string, name: string, n: number): Promise<string[]> {
    const lines = Array.from(
      { length: n },
      (_, i) =>
        `10.0.${i % 7}.${i % 250} - - [07/Dec/2026:19:${String(i % 60).padStart(2, '0')}:00 +0000] ` +
        `"GET /api/v1/items/${(i * 7919) % 100_000}?page=${i % 13} HTTP/1.1" ${i % 17 === 0 ? 404 : 200} ` +
        `${(i * 131) % 20_000} "-" "curl/8.5.0" id=${name}-${i}`,
    );
    await writeFile(path, lines.map((l) => `${l}\n`).join(''));
    return lines;
  }

  async function agentThrough(
    dir: string,
    name: string,
    proxy: TcpProxy,
    compression: 'none' | 'gzip',
  ): Promise<{ written: string[]; contentBytes: number }> {
    const logs = join(dir, `logs-${name}`);
    await mkdir(logs);
    const written = await writeLog(join(logs, 'app.log'), name, 20_000);
    const agent = await startAgent({
      id: name,
      collectors: [`127.0.0.1:${proxy.port}`],
      tails: [{ paths: [join(logs, '*.log')], topic: 'app' }],
      checkpoint: { path: join(dir, `${name}.registry.json`), flushIntervalMs: 50 },
      ship: { compression },
    });
    stops.push(() => agent.stop());
    return { written, contentBytes: written.reduce((n, l) => n + l.length, 0) };
  }

  async function wireBytes(collector: Collector, direction: string): Promise<number> {
    const metric = collector.registry.getSingleMetric('logrelay_collector_wire_bytes_total');
    const { values } = await metric!.get();
    return values.find((v) => v.labels['direction'] === direction)?.value ?? 0;
  }

  it('delivers every line exactly once, and the wire carries a fraction of the bytes', async () => {
    const { dir, out, collector } = await setup();
    const proxy = await proxyTo(collector);
    const { written, contentBytes } = await agentThrough(dir, 'gz', proxy, 'gzip');
    await waitFor(async () => (await readAllLines(out)).length >= written.length, {
      timeoutMs: 30_000,
      what: `${written.length} lines in the file sink`,
    });
    const counts = countLines(written, await readAllLines(out));
    expect(counts).toEqual(exactlyOnce(written.length));
    // Uncompressed, the wire carries the content plus protobuf and HTTP/2 framing; gzip on
    // these lines takes it below a fifth. Nothing else would shrink it.
    expect(proxy.bytesToTarget).toBeLessThan(contentBytes / 5);
    // The collector's own count of what came over the wire agrees.
    const received = await wireBytes(collector, 'received');
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(proxy.bytesToTarget);
  });

  it('serves an agent with gzip and one without on the same collector', async () => {
    const { dir, out, collector } = await setup();
    const gzProxy = await proxyTo(collector);
    const plainProxy = await proxyTo(collector);
    const gz = await agentThrough(dir, 'gz', gzProxy, 'gzip');
    const plain = await agentThrough(dir, 'plain', plainProxy, 'none');
    const all = [...gz.written, ...plain.written];
    await waitFor(async () => (await readAllLines(out)).length >= all.length, {
      timeoutMs: 30_000,
      what: `${all.length} lines in the file sink`,
    });
    const counts = countLines(all, await readAllLines(out));
    expect(counts).toEqual(exactlyOnce(all.length));
    // The plain agent's stream is not compressed (framing on top of the content)...
    expect(plainProxy.bytesToTarget).toBeGreaterThan(plain.contentBytes);
    // ...and the gzip agent's is, on the same collector at the same time.
    expect(gzProxy.bytesToTarget).toBeLessThan(gz.contentBytes / 5);
  });

  it('stops inflating a compressed bomb at limits.maxMessageBytes (RESOURCE_EXHAUSTED)', async () => {
    const { collector } = await setup();
    // 256 MiB of zeros, gzipped as a stream (this process never holds them): ~250 KiB on the
    // wire, far under the 8 MiB limit, 32× it inflated.
    const bombBytes = 256 * 1024 * 1024;
    const gzip = createGzip();
    const parts: Buffer[] = [];
    gzip.on('data', (b: Buffer) => parts.push(b));
    const zeros = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < bombBytes / zeros.length; i++) gzip.write(zeros);
    gzip.end();
    await once(gzip, 'end');
    const compressed = Buffer.concat(parts);
    expect(compressed.length).toBeLessThan(wireDefaults.maxMessageBytes / 8);
    // A gRPC length-prefixed message with the compressed flag set, as grpc-js would send it.
    const frame = Buffer.alloc(5 + compressed.length);
    frame.writeUInt8(1, 0);
    frame.writeUInt32BE(compressed.length, 1);
    compressed.copy(frame, 5);

    // Peak resident memory of this process (which runs the collector) from here on.
    const peakRss = () =>
      Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
    let canResetPeak = true;
    try {
      writeFileSync('/proc/self/clear_refs', '5');
    } catch {
      canResetPeak = false;
    }
    const rssBefore = process.memoryUsage.rss();

    const session = connectHttp2(`http://127.0.0.1:${collector.server.port}`);
    stops.push(async () => void session.close());
    const req = session.request({
      ':method': 'POST',
      ':path': '/logrelay.v1.Relay/Ship',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-encoding': 'gzip',
    });
    const trailers = new Promise<Record<string, unknown>>((resolve) => {
      req.on('trailers', (t) => resolve(t));
      // A status in the headers (trailers-only response) comes as 'response'.
      req.on('response', (h) => {
        if (h['grpc-status'] !== undefined) resolve(h);
      });
    });
    req.on('data', () => undefined);
    req.on('error', () => undefined);
    req.end(frame);
    const status = await trailers;
    expect(Number(status['grpc-status'])).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(decodeURIComponent(String(status['grpc-message']))).toContain(
      `decompresses to a size larger than ${wireDefaults.maxMessageBytes}`,
    );
    if (canResetPeak) {
      // Inflating it all would take 256 MiB (and as much again to join the pieces); grpc-js
      // stops at the limit, so the peak grows by about the limit, not the bomb.
      expect(peakRss() - rssBefore).toBeLessThan(64 * 1024 * 1024);
    }

    // The collector still serves, compressed streams included.
    const next = new RawShip(collector.address, compressionOptions('gzip'));
    stops.push(async () => next.client.close());
    next.hello('after-bomb');
    next.send(makeBatch(['still serving'], 0, { agentId: 'after-bomb', seq: 1 }));
    const answer = await next.answer(1);
    expect(answer.result?.$case).toBe('committed');
  });
});
