import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../../../src/common/errors/relay-error.js';
import {
  buildScriptArgs,
  marksKey,
  redisKey,
  toRelayError,
} from '../../../../../src/collector/sinks/redis/index.js';
import type { SinkBatch } from '../../../../../src/collector/sinks/sink.js';
import { ReplyError } from 'ioredis';

const line = Buffer.from([0x41, 0xff, 0x00]);
const batch: SinkBatch = {
  streamKey: 'a:1:2:f',
  agentId: 'a',
  host: 'h',
  path: '/p',
  topic: 't',
  lines: [line, Buffer.from('é')],
  offsets: [10, 14],
  endOffset: 17,
  readTimeMs: 0,
};

describe('redis sink records', () => {
  it('expands the key template and names the marks hash', () => {
    expect(redisKey('logrelay:{topic}', 'app')).toBe('logrelay:app');
    expect(redisKey('{topic}:{topic}', 'x')).toBe('x:x');
    expect(redisKey('all', 'x')).toBe('all');
    expect(marksKey('logrelay:app')).toBe('logrelay:app:marks');
  });

  it('passes stream lines as the received buffers, with the metadata once', () => {
    const args = buildScriptArgs(batch, { mode: 'stream', format: 'json', maxLen: 5 });
    expect(args.slice(0, 8)).toEqual([
      'stream',
      '5',
      'a:1:2:f',
      '17',
      'a',
      'h',
      '/p',
      '1970-01-01T00:00:00.000Z',
    ]);
    // No fields: zero field arguments.
    expect(args[8]).toBe('0');
    expect(args[9]).toBe('10');
    expect(args[10]).toBe(line);
    expect(args.slice(11)).toEqual(['14', Buffer.from('é')]);
  });

  it('builds JSON list elements, and raw ones as the exact bytes', () => {
    const json = buildScriptArgs(
      { ...batch, readTimeMs: Number.NaN },
      { mode: 'list', format: 'json', maxLen: undefined },
    );
    expect(json[1]).toBe('');
    expect(json[7]).toBe('');
    expect(JSON.parse(json[10] as string)).toEqual({
      agent: 'a',
      host: 'h',
      path: '/p',
      offset: 10,
      time: null,
      line: 'A\uFFFD\u0000',
    });
    const raw = buildScriptArgs(batch, { mode: 'list', format: 'raw', maxLen: undefined });
    expect(raw[10]).toBe(line);
  });

  it('adds the batch’s fields to JSON list elements and, as fields.<key>, to stream entries', () => {
    const fields = { service: 'checkout', env: 'prod' };
    const json = buildScriptArgs(
      { ...batch, fields },
      { mode: 'list', format: 'json', maxLen: undefined },
    );
    expect(json[8]).toBe('0');
    expect(json[12]).toBe(
      '{"agent":"a","host":"h","path":"/p","offset":14,"time":"1970-01-01T00:00:00.000Z",' +
        '"line":"é","fields":{"service":"checkout","env":"prod"}}',
    );
    expect(json).toHaveLength(13);
    const stream = buildScriptArgs(
      { ...batch, fields },
      { mode: 'stream', format: 'json', maxLen: 5 },
    );
    expect(stream.slice(8)).toEqual([
      '4',
      'fields.service',
      'checkout',
      'fields.env',
      'prod',
      '10',
      line,
      '14',
      Buffer.from('é'),
    ]);
    const raw = buildScriptArgs(
      { ...batch, fields },
      { mode: 'list', format: 'raw', maxLen: undefined },
    );
    expect(raw.slice(8)).toEqual(['0', '10', line, '14', Buffer.from('é')]);
  });

  it('rejects a batch whose offsets do not match its lines', () => {
    expect(() =>
      buildScriptArgs({ ...batch, offsets: [10] }, { mode: 'stream', format: 'json', maxLen: 1 }),
    ).toThrow(expect.objectContaining({ code: 'SINK_REJECTED', retriable: false }));
  });

  it('classifies errors: connection and transient replies retriable, others rejected', () => {
    const Reply = ReplyError as new (message: string) => Error;
    expect(toRelayError(new Error('connect ECONNREFUSED'), 's')).toMatchObject({
      code: 'SINK_UNAVAILABLE',
      retriable: true,
    });
    expect(toRelayError(new Reply('LOADING Redis is loading'), 's')).toMatchObject({
      code: 'SINK_UNAVAILABLE',
      retriable: true,
    });
    expect(toRelayError(new Reply('WRONGTYPE k holds a string'), 's')).toMatchObject({
      code: 'SINK_REJECTED',
      retriable: false,
    });
    const own = new RelayError('X', 'y');
    expect(toRelayError(own, 's')).toBe(own);
  });
});
