import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Harvester, type HarvesterOptions } from '../../../../src/agent/harvest/harvester.js';
import { FileTailer } from '../../../../src/agent/tail/file-reader.js';
import type { Line } from '../../../../src/agent/tail/line-splitter.js';
import { tempDir } from '../../../helpers/temp-dir.js';

/** Splits `text` (or bytes) into Lines at `\n` the way the tailer does, from `start`. */
export function linesOf(text: string | Buffer, start = 0): Line[] {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  const lines: Line[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(10, pos);
    if (nl === -1) break;
    let end = nl;
    let term: 1 | 2 = 1;
    if (end > pos && buf[end - 1] === 13) {
      end -= 1;
      term = 2;
    }
    lines.push({
      offset: start + pos,
      content: buf.subarray(pos, end),
      terminatorLength: term,
      truncatedBytes: 0,
    });
    pos = nl + 1;
  }
  return lines;
}

/**
 * A harvester over a real file holding `content`, read by a real tailer from offset 0, with
 * test-sized batches (no linger). `cleanups` gets what closes the tailer and removes the file.
 */
export async function harvesterOver(
  content: string,
  options: Partial<HarvesterOptions>,
  cleanups: (() => Promise<void>)[],
): Promise<{ harvester: Harvester; path: string }> {
  const { dir, cleanup } = await tempDir();
  const path = join(dir, 'app.log');
  await writeFile(path, content);
  const tailer = await FileTailer.open(path);
  cleanups.push(async () => {
    await tailer.close();
    await cleanup();
  });
  const harvester = new Harvester(
    {
      agentId: 'a',
      host: 'h',
      topic: 't',
      tailName: 'local:0',
      maxBatchBytes: 1 << 20,
      maxBatchLines: 10_000,
      partialFlushMs: 100,
      maxWaitMs: 0,
      records: undefined,
      ...options,
    },
    tailer,
    path,
    0,
  );
  return { harvester, path };
}
