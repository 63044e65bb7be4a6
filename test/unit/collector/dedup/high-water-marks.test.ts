import { describe, expect, it } from 'vitest';
import { HighWaterMarks, unseenPart } from '../../../../src/collector/dedup/high-water-marks.js';
import { validateBatch } from '../../../../src/collector/server/validate-batch.js';
import type { SinkBatch } from '../../../../src/collector/sinks/sink.js';
import { makeBatch } from '../../../helpers/batches.js';

function sinkBatch(lines: string[], start: number): SinkBatch {
  const r = validateBatch(makeBatch(lines, start), { maxBatchBytes: 1e6, maxBatchLines: 1e6 });
  if (!r.ok) throw new Error(r.rejection.reason);
  return r.batch;
}

describe('dedup by (stream, offset)', () => {
  const batch = sinkBatch(['aa', 'bb', 'cc', 'dd'], 10); // offsets 10, 13, 16, 19; end 22

  it('passes a batch the sink has not seen', () => {
    expect(unseenPart(batch, undefined)).toEqual({ batch, duplicates: 0 });
    expect(unseenPart(batch, 10)).toEqual({ batch, duplicates: 0 });
  });

  it('drops a batch the sink committed entirely', () => {
    expect(unseenPart(batch, 22)).toEqual({ batch: undefined, duplicates: 4 });
    expect(unseenPart(batch, 500)).toEqual({ batch: undefined, duplicates: 4 });
  });

  it('keeps only the lines at or after the mark of a partly seen batch', () => {
    const { batch: part, duplicates } = unseenPart(batch, 16);
    expect(duplicates).toBe(2);
    expect(part?.lines.map(String)).toEqual(['cc', 'dd']);
    expect(part?.offsets).toEqual([16, 19]);
    expect(part?.endOffset).toBe(22);
  });

  it('keeps marks per sink and per stream, moving only forward', () => {
    const marks = new HighWaterMarks();
    marks.advance('kafka', 's1', 100);
    marks.advance('kafka', 's1', 50);
    marks.advance('hdfs', 's1', 10);
    expect(marks.get('kafka', 's1')).toBe(100);
    expect(marks.get('hdfs', 's1')).toBe(10);
    expect(marks.get('kafka', 's2')).toBeUndefined();
    marks.forget('s1');
    expect(marks.get('kafka', 's1')).toBeUndefined();
  });
});
