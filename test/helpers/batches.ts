import type { Batch } from '../../src/common/wire/index.js';
import type { SinkBatch } from '../../src/collector/sinks/sink.js';

/** Builds a well-formed wire batch of `lines` (each "\n"-terminated) starting at `startOffset`. */
export function makeBatch(
  lines: (string | Buffer)[],
  startOffset = 0,
  overrides: Partial<Batch> = {},
): Batch {
  const buffers = lines.map((l) => (typeof l === 'string' ? Buffer.from(l) : l));
  const blob = Buffer.concat(buffers);
  return {
    agentId: 'agent-1',
    seq: 1,
    stream: {
      host: 'web-1',
      path: '/var/log/app.log',
      keyPath: '',
      device: 1,
      inode: 42,
      fingerprint: 'f00d',
      generation: 0,
    },
    topic: 'app',
    startOffset,
    endOffset: startOffset + blob.length + buffers.length,
    lines: blob,
    lineLengths: buffers.map((b) => b.length),
    terminatorLengths: [],
    truncatedBytes: [],
    readTimeMs: Date.now(),
    sourceLengths: [],
    skippedBefore: [],
    skippedAfter: 0,
    fields: {},
    ...overrides,
  };
}

/**
 * What a sink is given: `lines` of one stream (each "\n"-terminated in the file) from file offset
 * `start`, with fixed metadata unless overridden.
 */
export function sinkBatch(
  lines: (string | Buffer)[],
  start = 0,
  overrides: Partial<SinkBatch> = {},
): SinkBatch {
  const bufs = lines.map((l) => (typeof l === 'string' ? Buffer.from(l) : l));
  const offsets: number[] = [];
  let at = start;
  for (const b of bufs) {
    offsets.push(at);
    at += b.length + 1;
  }
  return {
    streamKey: 'agent-1:1:42:f00d',
    agentId: 'agent-1',
    host: 'web-1',
    path: '/var/log/app.log',
    topic: 'app',
    lines: bufs,
    offsets,
    endOffset: at,
    readTimeMs: Date.parse('2026-01-02T03:04:05.678Z'),
    ...overrides,
  };
}
