import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harvester } from '../../../../src/agent/harvest/harvester.js';
import { batchFields } from '../../../../src/agent/records/fields.js';
import { recordStageFor } from '../../../../src/agent/records/record-stage.js';
import { FileTailer } from '../../../../src/agent/tail/file-reader.js';
import { NO_FIELDS, type BatchFields } from '../../../../src/common/wire/index.js';
import { validateBatch } from '../../../../src/collector/server/validate-batch.js';
import { tempDir } from '../../../helpers/temp-dir.js';

describe('the fields of a harvester’s batches (real file, real tailer)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function harvest(content: string, fields: BatchFields | undefined, filter = false) {
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
        records: filter ? recordStageFor({ excludeLines: ['^DEBUG'] }) : undefined,
        fields,
      },
      tailer,
      path,
      0,
    );
    const next = await harvester.nextBatch(1000);
    if (!next) throw new Error('no batch');
    return next.batch;
  }

  it('carries the tail’s fields, the same frozen object in every batch', async () => {
    const fields = batchFields({ service: 'checkout', env: 'prod' });
    const batch = await harvest('one\ntwo\n', fields);
    expect(batch.fields).toBe(fields);
    const checked = validateBatch(batch, { maxBatchBytes: 1 << 20, maxBatchLines: 10_000 });
    expect(checked.ok && checked.batch.fields).toEqual({ service: 'checkout', env: 'prod' });
    expect(checked.ok && checked.batch.lines.map(String)).toEqual(['one', 'two']);
  });

  it('carries them through the record stage too', async () => {
    const fields = batchFields({ service: 'checkout' });
    const batch = await harvest('DEBUG x\nINFO y\n', fields, true);
    expect(batch.fields).toBe(fields);
    expect(batch.lineLengths).toEqual([6]);
  });

  it('carries none (the shared empty set) for a tail without fields', async () => {
    const batch = await harvest('one\n', undefined);
    expect(batch.fields).toBe(NO_FIELDS);
  });
});
