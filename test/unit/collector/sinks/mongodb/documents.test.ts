import { Binary, Long } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../../../src/common/errors/relay-error.js';
import {
  MAX_DOCUMENT_BYTES,
  buildDocument,
  checkedDocument,
  collectionName,
  documentId,
  lineValue,
} from '../../../../../src/collector/sinks/mongodb/documents.js';
import { sinkBatch } from '../../../../helpers/batches.js';

const batch = (lines: Buffer[], start = 0) =>
  sinkBatch(lines, start, {
    streamKey: 'agent-1:64769:1234:abcd',
    host: 'host-1',
    readTimeMs: Date.UTC(2026, 10, 27, 1, 2, 3, 456),
  });

function thrown(fn: () => unknown): RelayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RelayError);
    return err as RelayError;
  }
  throw new Error('expected a RelayError');
}

describe('mongodb sink documents', () => {
  it('derives _id from the stream key and the zero-padded offset', () => {
    expect(documentId('a:1:2:g', 0)).toBe('a:1:2:g:00000000000000000000');
    expect(documentId('a:1:2:g', 1234)).toBe('a:1:2:g:00000000000000001234');
    expect(documentId('a:1:2:g', Number.MAX_SAFE_INTEGER)).toBe('a:1:2:g:00009007199254740991');
    // Another generation of the same file (same offsets) is another document.
    expect(documentId('a:1:2:h', 1234)).not.toBe(documentId('a:1:2:g', 1234));
    // Ids sort in offset order within a stream.
    expect(documentId('s', 99) < documentId('s', 100)).toBe(true);
  });

  it('builds json documents with the metadata, and raw ones with the line only', () => {
    const b = batch([Buffer.from('first'), Buffer.from('ünïcödé ✓ 🚀')], 100);
    expect(buildDocument(b, 1, 'json')).toEqual({
      _id: documentId(b.streamKey, 106),
      line: 'ünïcödé ✓ 🚀',
      stream: b.streamKey,
      agent: 'agent-1',
      host: 'host-1',
      path: '/var/log/app.log',
      offset: Long.fromNumber(106),
      time: new Date(b.readTimeMs),
    });
    expect(buildDocument(b, 0, 'raw')).toEqual({
      _id: documentId(b.streamKey, 100),
      line: 'first',
    });
  });

  it('json documents carry the batch’s fields as a sub-document, only when it has some', () => {
    const fields = { service: 'checkout', 'k8s.namespace': 'shop' };
    const b = { ...batch([Buffer.from('first')], 100), fields };
    expect(buildDocument(b, 0, 'json')).toEqual({
      _id: documentId(b.streamKey, 100),
      line: 'first',
      stream: b.streamKey,
      agent: 'agent-1',
      host: 'host-1',
      path: '/var/log/app.log',
      offset: Long.fromNumber(100),
      time: new Date(b.readTimeMs),
      fields,
    });
    expect(buildDocument(b, 0, 'raw')).toEqual({
      _id: documentId(b.streamKey, 100),
      line: 'first',
    });
    const none = buildDocument({ ...b, fields: {} }, 0, 'json');
    expect(Object.keys(none)).toEqual([
      '_id',
      'line',
      'stream',
      'agent',
      'host',
      'path',
      'offset',
      'time',
    ]);
  });

  it('keeps a line of invalid UTF-8 as a Binary of its exact bytes, a valid one as a string', () => {
    const invalid = Buffer.from([0x00, 0xff, 0xfe, 0x41, 0x00, 0xc3, 0x28]);
    const value = lineValue(invalid);
    expect(value).toBeInstanceOf(Binary);
    expect(Buffer.from((value as Binary).buffer)).toEqual(invalid);
    expect((value as Binary).sub_type).toBe(Binary.SUBTYPE_DEFAULT);
    // A copy: the batch's buffer may be reused.
    invalid[0] = 0x7f;
    expect((value as Binary).buffer[0]).toBe(0x00);
    // NULs and a BOM are valid UTF-8: strings, byte for byte.
    for (const text of ['a\u0000b', '\ufeffbom first', '', '🚀']) {
      const line = Buffer.from(text);
      expect(lineValue(line), JSON.stringify(text)).toBe(text);
      expect(Buffer.from(lineValue(line) as string)).toEqual(line);
    }
    // A lone surrogate encoded (CESU) and an overlong encoding are not UTF-8.
    expect(lineValue(Buffer.from([0xed, 0xa0, 0x80]))).toBeInstanceOf(Binary);
    expect(lineValue(Buffer.from([0xc0, 0xaf]))).toBeInstanceOf(Binary);
  });

  it('refuses a document over 16 MiB before it is sent, naming offset and size', () => {
    const big = Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 0x61);
    const error = thrown(() => checkedDocument(batch([Buffer.from('x'), big], 10), 1, 'raw'));
    expect(error.code).toBe('SINK_REJECTED');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('offset 12');
    expect(error.message).toContain(`${MAX_DOCUMENT_BYTES + 1} bytes`);
    // A line just under the limit whose document (with metadata) is over it.
    const near = Buffer.alloc(MAX_DOCUMENT_BYTES - 20, 0x61);
    expect(thrown(() => checkedDocument(batch([near]), 0, 'json')).code).toBe('SINK_REJECTED');
    // The same line with less around it fits in a smaller limit's terms.
    expect(checkedDocument(batch([Buffer.from('ok')]), 0, 'json')._id).toContain(':0000');
  });
});

describe('mongodb sink collection names', () => {
  it('replaces {topic} with the topic sanitised to [a-zA-Z0-9_.-]', () => {
    expect(collectionName('logs_{topic}', 'app', 'logrelay')).toBe('logs_app');
    expect(collectionName('logs_{topic}', 'web.access-log', 'logrelay')).toBe(
      'logs_web.access-log',
    );
    expect(collectionName('logs_{topic}', 'a$b\u0000c d/é', 'logrelay')).toBe('logs_a_b_c_d__');
    expect(collectionName('all', 'anything', 'logrelay')).toBe('all');
    // Reserved forms a topic could make: defused, not refused.
    expect(collectionName('{topic}', 'system.profile', 'logrelay')).toBe('system_profile');
    expect(collectionName('{topic}', '.hidden', 'logrelay')).toBe('_hidden');
  });

  it('keeps database.collection to 120 bytes, with a hash so long topics stay apart', () => {
    const max = 120 - 'logrelay.'.length;
    const a = collectionName('logs_{topic}', `${'t'.repeat(200)}a`, 'logrelay');
    const b = collectionName('logs_{topic}', `${'t'.repeat(200)}b`, 'logrelay');
    expect(a).toHaveLength(max);
    expect(b).toHaveLength(max);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^logs_t+_[0-9a-f]{8}$/);
    expect(collectionName('logs_{topic}', 'x'.repeat(max - 5), 'logrelay')).toBe(
      `logs_${'x'.repeat(max - 5)}`,
    );
    // A longer database name leaves less room.
    expect(collectionName('logs_{topic}', 'x'.repeat(200), 'd'.repeat(63))).toHaveLength(120 - 64);
  });

  it('refuses an empty name (non-retriable)', () => {
    const error = thrown(() => collectionName('{topic}', '', 'logrelay'));
    expect(error.code).toBe('SINK_REJECTED');
    expect(error.retriable).toBe(false);
  });
});
