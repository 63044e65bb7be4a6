import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/common/logging/logger.js';

/** A logger whose records are kept in memory (parsed), for tests that assert on log lines. */
export function captureLog(): { log: Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ level: 'info' }, sink), records };
}
