import type { Batch } from '../../src/common/wire/index.js';

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
    ...overrides,
  };
}
