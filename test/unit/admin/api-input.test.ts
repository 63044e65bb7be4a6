import { describe, expect, it } from 'vitest';
import {
  UnsupportedMediaTypeError,
  onlyFields,
  parseJsonObject,
  parseNewNode,
  parseNewTail,
  parseQuery,
} from '../../../src/admin/http/api-input.js';
import { AdminInputError } from '../../../src/admin/store/validate.js';

const json = 'application/json';
const parse = (text: string, emptyAllowed = false) =>
  parseJsonObject(Buffer.from(text), json, emptyAllowed);

describe('request bodies', () => {
  it('accepts a JSON object, with or without a charset', () => {
    expect(parse('{"a":1}')).toEqual({ a: 1 });
    expect(parseJsonObject(Buffer.from('{}'), 'Application/JSON; charset=utf-8', false)).toEqual(
      {},
    );
  });

  it.each(['[]', '[{}]', '1', '"x"', 'null', 'true', '{', '', "'; DROP TABLE t; --"])(
    'refuses %j',
    (text) => {
      expect(() => parse(text)).toThrow(AdminInputError);
    },
  );

  it('allows an empty body only where the endpoint has no fields', () => {
    expect(parse('', true)).toEqual({});
  });

  it('refuses invalid UTF-8 and other media types', () => {
    expect(() => parseJsonObject(Buffer.from([0x7b, 0xff, 0x7d]), json, false)).toThrow(/UTF-8/);
    expect(() => parseJsonObject(Buffer.from('{}'), 'text/plain', false)).toThrow(
      UnsupportedMediaTypeError,
    );
    expect(() => parseJsonObject(Buffer.from('{}'), undefined, false)).toThrow(
      UnsupportedMediaTypeError,
    );
  });

  it('refuses unknown fields, including __proto__', () => {
    expect(() => onlyFields(JSON.parse('{"__proto__":{}}') as Record<string, unknown>, [])).toThrow(
      /__proto__/,
    );
    expect(() => onlyFields({ ip: '1.2.3.4', extra: 1 }, ['ip'])).toThrow(/extra/);
  });
});

describe('node and tail bodies', () => {
  it('parses valid bodies', () => {
    expect(parseNewNode({ ip: '10.0.0.1' })).toEqual({ ip: '10.0.0.1' });
    expect(
      parseNewNode({ ip: '10.0.0.1', serverName: "'; DROP TABLE t; --", keyPath: '/k' }),
    ).toEqual({ ip: '10.0.0.1', serverName: "'; DROP TABLE t; --", keyPath: '/k' });
    expect(parseNewTail({ nodeId: 3, logPath: '/var/log/a.log', topic: 't', status: '0' })).toEqual(
      { nodeId: 3, logPath: '/var/log/a.log', topic: 't', status: '0' },
    );
  });

  it.each([{}, [], 1, true, null, 'x'.repeat(300)])('refuses ip = %j', (ip) => {
    expect(() => parseNewNode({ ip })).toThrow(AdminInputError);
  });

  it.each([{}, [], 1, true, null])('refuses serverName and keyPath = %j', (value) => {
    expect(() => parseNewNode({ ip: '10.0.0.1', serverName: value })).toThrow(/string/);
    expect(() => parseNewNode({ ip: '10.0.0.1', keyPath: value })).toThrow(/string/);
  });

  it.each(['3', '1 OR 1=1', 0, -1, 1.5, 2 ** 31, null, {}, [], true])(
    'refuses nodeId = %j',
    (nodeId) => {
      expect(() => parseNewTail({ nodeId, logPath: '/a', topic: 't' })).toThrow(AdminInputError);
    },
  );

  it.each([1, 0, '2', 'running', null, {}, []])('refuses status = %j', (status) => {
    expect(() => parseNewTail({ nodeId: 1, logPath: '/a', topic: 't', status })).toThrow(
      AdminInputError,
    );
  });

  it('refuses missing required fields', () => {
    expect(() => parseNewNode({})).toThrow(/"ip" is required/);
    expect(() => parseNewTail({ logPath: '/a', topic: 't' })).toThrow(/"nodeId" is required/);
  });
});

describe('query strings', () => {
  it('accepts known names once', () => {
    expect(parseQuery('nodeId=3', ['nodeId']).get('nodeId')).toBe('3');
  });

  it('refuses unknown and repeated names', () => {
    expect(() => parseQuery('x=1', ['nodeId'])).toThrow(/unknown/);
    expect(() => parseQuery('nodeId=1&nodeId=2', ['nodeId'])).toThrow(/repeated/);
  });
});
