import { afterEach, describe, expect, it } from 'vitest';
import { batchFields } from '../../../../src/agent/records/fields.js';
import { recordStageFor } from '../../../../src/agent/records/record-stage.js';
import { NO_FIELDS, type BatchFields } from '../../../../src/common/wire/index.js';
import { validateBatch } from '../../../../src/collector/server/validate-batch.js';
import { harvesterOver } from '../records/helpers.js';

describe('the fields of a harvester’s batches (real file, real tailer)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function harvest(content: string, fields: BatchFields | undefined, filter = false) {
    const { harvester } = await harvesterOver(
      content,
      { records: filter ? recordStageFor({ excludeLines: ['^DEBUG'] }) : undefined, fields },
      cleanups,
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
