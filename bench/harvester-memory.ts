/**
 * What a harvester costs in memory, open and parked (descriptor closed, state kept):
 * `node --expose-gc --import tsx bench/harvester-memory.ts [files]`. Makes `files` small files,
 * reads each through a Harvester, and prints the heap and external memory per file with every
 * file open, then with every file parked.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Harvester } from '../src/agent/harvest/harvester.js';
import { FileTailer } from '../src/agent/tail/file-reader.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const n = Number(process.argv[2] ?? 2000);
const dir = await mkdtemp(join(tmpdir(), 'logrelay-hmem-'));
const line = (p: string, i: number) => `${p} line ${i} ${'x'.repeat(70)}\n`;
const paths: string[] = [];
for (let i = 0; i < n; i++) {
  const p = join(dir, `f${i}.log`);
  paths.push(p);
  await writeFile(p, Array.from({ length: 20 }, (_, j) => line(p, j)).join(''));
}
const mem = () => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
};
const base = mem();
const harvesters: Harvester[] = [];
for (const p of paths) {
  // The agent's options: 256 KiB reads, 1 KiB fingerprints.
  const tailer = await FileTailer.open(p, { chunkBytes: 256 * 1024 });
  const h = new Harvester(
    {
      agentId: 'a',
      host: 'h',
      topic: 't',
      tailName: 'local:0',
      maxBatchBytes: 1024 * 1024,
      maxBatchLines: 10_000,
      partialFlushMs: 5000,
      maxWaitMs: 0,
    },
    tailer,
    p,
    0,
  );
  for (;;) {
    const next = await h.nextBatch(Date.now());
    if (!next) break;
    h.settle(next.sent);
  }
  harvesters.push(h);
}
const open = mem();
for (const h of harvesters) await h.park(Date.now());
const parked = mem();
const fmt = (b: number) => `${((b - base) / n).toFixed(0)} B per file`;
process.stdout.write(
  `${n} files read to their end: open ${fmt(open)}, parked ${fmt(parked)} (heap + external)\n`,
);
await rm(dir, { recursive: true, force: true });
