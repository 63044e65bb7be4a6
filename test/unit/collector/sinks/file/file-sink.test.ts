import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../../../src/common/config/load-config.js';
import { createLogger } from '../../../../../src/common/logging/logger.js';
import { fileSinkConfigSchema } from '../../../../../src/collector/sinks/file/config.js';
import { FileSink } from '../../../../../src/collector/sinks/file/file-sink.js';
import type { SinkBatch } from '../../../../../src/collector/sinks/sink.js';
import { tempDir } from '../../../../helpers/temp-dir.js';

const log = createLogger({ level: 'silent' });

function batch(topic: string, lines: (string | Buffer)[], start = 0): SinkBatch {
  const bufs = lines.map((l) => (typeof l === 'string' ? Buffer.from(l) : l));
  const offsets: number[] = [];
  let at = start;
  for (const b of bufs) {
    offsets.push(at);
    at += b.length + 1;
  }
  return {
    streamKey: 's',
    agentId: 'a',
    host: 'h',
    path: '/p',
    topic,
    lines: bufs,
    offsets,
    endOffset: at,
    readTimeMs: 0,
  };
}

/** Descriptors of this process that point into `dir` (Linux: /proc/self/fd). */
async function openDescriptorsUnder(dir: string): Promise<string[]> {
  const targets: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(`${dir}/`)) targets.push(target);
  }
  return targets;
}

/** A full garbage collection, so that a leaked FileHandle is collected and Node warns (DEP0137). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('file sink', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function make(extra: Record<string, unknown> = {}) {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const config = validateConfig(fileSinkConfigSchema, {
      type: 'file',
      name: 'f',
      directory: dir,
      pathTemplate: '{topic}/{collector}-{n}.log',
      ...extra,
    });
    const sink = new FileSink(config, { log, registry: new Registry(), collectorId: 'c1' });
    cleanups.push(() => sink.stop());
    return { sink, dir };
  }

  it('writes newline-terminated lines byte for byte, one file per topic', async () => {
    const { sink, dir } = await make();
    await sink.start();
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0x41]);
    await Promise.all([
      sink.write(batch('app', ['one', '', binary])),
      sink.write(batch('web', ['w1'])),
    ]);
    await sink.write(batch('app', ['two']));
    await sink.stop();
    expect(await readFile(join(dir, 'app/c1-0.log'))).toEqual(
      Buffer.concat([Buffer.from('one\n\n'), binary, Buffer.from('\ntwo\n')]),
    );
    expect(await readFile(join(dir, 'web/c1-0.log'), 'utf8')).toBe('w1\n');
  });

  it('format json: one envelope per line, newlines of a multiline event escaped, fields when the batch has some', async () => {
    const { sink, dir } = await make({ format: 'json' });
    await sink.start();
    const fields = { service: 'checkout', env: 'prod' };
    await sink.write({ ...batch('app', ['first', 'Exception\n\tat A.b(A.java:1)'], 40), fields });
    await sink.write(batch('app', ['no fields'], 200));
    await sink.stop();
    const text = await readFile(join(dir, 'app/c1-0.log'), 'utf8');
    expect(text.split('\n')).toEqual([
      '{"agent":"a","host":"h","path":"/p","offset":40,"time":"1970-01-01T00:00:00.000Z",' +
        '"line":"first","fields":{"service":"checkout","env":"prod"}}',
      '{"agent":"a","host":"h","path":"/p","offset":46,"time":"1970-01-01T00:00:00.000Z",' +
        '"line":"Exception\\n\\tat A.b(A.java:1)","fields":{"service":"checkout","env":"prod"}}',
      '{"agent":"a","host":"h","path":"/p","offset":200,"time":"1970-01-01T00:00:00.000Z",' +
        '"line":"no fields"}',
      '',
    ]);
  });

  it('format raw (the default) writes the lines alone, fields or not', async () => {
    const { sink, dir } = await make();
    await sink.start();
    await sink.write({ ...batch('app', ['plain']), fields: { service: 'checkout' } });
    await sink.stop();
    expect(await readFile(join(dir, 'app/c1-0.log'), 'utf8')).toBe('plain\n');
  });

  it('rolls by size to the next {n} and never reopens an existing file', async () => {
    const { sink, dir } = await make({ maxFileBytes: 10 });
    await sink.start();
    for (let i = 0; i < 5; i++) await sink.write(batch('app', [`line-${i}`]));
    await sink.stop();
    const files = (await readdir(join(dir, 'app'))).sort();
    // 7-byte lines: a file takes writes until it has reached 10 bytes.
    expect(files).toEqual(['c1-0.log', 'c1-1.log', 'c1-2.log']);
    expect(await readFile(join(dir, 'app/c1-1.log'), 'utf8')).toBe('line-2\nline-3\n');
    // A restarted sink starts after the existing files.
    await sink.start();
    await sink.write(batch('app', ['after restart']));
    await sink.stop();
    expect(await readFile(join(dir, 'app/c1-3.log'), 'utf8')).toBe('after restart\n');
  });

  it('opens one file when two first writes to a topic arrive at once, leaking no handle', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) =>
      warnings.push(`${w.code ?? w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      for (let round = 0; round < 50; round++) {
        const { sink, dir } = await make();
        await sink.start();
        await Promise.all([
          sink.write(batch('app', [`first-${round}`])),
          sink.write(batch('app', [`second-${round}`])),
        ]);
        // Both writes went to the one file, and stop closed everything that was opened.
        expect(await readdir(join(dir, 'app'))).toEqual(['c1-0.log']);
        expect((await readFile(join(dir, 'app/c1-0.log'), 'utf8')).split('\n').sort()).toEqual([
          '',
          `first-${round}`,
          `second-${round}`,
        ]);
        await sink.stop();
        expect(await openDescriptorsUnder(dir)).toEqual([]);
      }
      collectGarbage();
      // A leaked handle is closed by the collector with a warning, emitted on a later tick.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(warnings.filter((w) => w.includes('DEP0137') || w.includes('FileHandle'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('rejects writes when not running with a retriable error', async () => {
    const { sink } = await make();
    await expect(sink.write(batch('app', ['x']))).rejects.toMatchObject({
      code: 'SINK_NOT_RUNNING',
      retriable: true,
    });
  });

  it('validates its config: {n} required, no .., unknown keys named', () => {
    expect(() =>
      validateConfig(fileSinkConfigSchema, {
        type: 'file',
        name: 'f',
        directory: '/d',
        pathTemplate: 'x.log',
      }),
    ).toThrow(/pathTemplate: must contain \{n\}/);
    expect(() =>
      validateConfig(fileSinkConfigSchema, {
        type: 'file',
        name: 'f',
        directory: '/d',
        pathTemplate: '../{n}',
      }),
    ).toThrow(/pathTemplate: must not contain \.\./);
    expect(() =>
      validateConfig(fileSinkConfigSchema, {
        type: 'file',
        name: 'f',
        directory: '/d',
        rollBytes: 1,
      }),
    ).toThrow(/rollBytes: unknown key/);
  });
});
