import { describe, expect, it } from 'vitest';
import { nodeValue, parseEtcdEndpoints } from '../../../src/admin/publish/publisher.js';
import { parseMysqlUrl } from '../../../src/admin/store/mysql-url.js';
import { formatCreateTime } from '../../../src/admin/store/store.js';
import {
  AdminInputError,
  defaultKeyPath,
  globProblem,
  validateId,
  validateIp,
  validateKeyPath,
  validateLogPath,
  validateServerName,
  validateStatus,
  validateTopic,
} from '../../../src/admin/store/validate.js';

describe('log paths', () => {
  it.each([
    '/var/log/app.log',
    '/var/log/app/*.log',
    '/var/log/**/*.log',
    '/var/log/app-?.log',
    '/var/log/[ab]pp.log',
    '/var/log/[!a]pp.log',
    '/var/log/app[0-9].log',
    '/srv/my app/log file.txt',
    `/${'a'.repeat(254)}`,
  ])('accepts %s', (path) => {
    expect(validateLogPath(path)).toBe(path);
  });

  it.each([
    ['var/log/app.log', /relative/],
    ['./app.log', /relative/],
    ['', /empty/],
    ['/var/log/../../etc/shadow', /\.\. segments/],
    ['/var/log/./app.log', /\. or \.\. segments/],
    ['/var/log/..', /\.\. segments/],
    ['/var//log/app.log', /empty segment/],
    ['/var/log/', /empty segment/],
    [`/${'a'.repeat(255)}`, /at most 255/],
    ['/var/log/app\n.log', /control characters/],
    ['/var/log/app\u0000.log', /control characters/],
    ['C:\\logs\\app.log', /relative/],
    ['/var/log\\app.log', /must not contain \\/],
    ['/var/log/[ab.log', /unclosed \[/],
    ['/var/log/ab].log', /unmatched \]/],
    ['/var/log/[].log', /empty character class/],
    ['/var/log/[!].log', /empty character class/],
    ['/var/log/[z-a].log', /reversed range z-a/],
    ['/var/log/a**b/x.log', /whole path segment/],
  ])('rejects %j', (path, message) => {
    expect(() => validateLogPath(path)).toThrow(AdminInputError);
    expect(() => validateLogPath(path)).toThrow(message);
  });

  it.each([42, null, undefined, {}, ['/var/log/a.log']])('rejects the non-string %j', (value) => {
    expect(() => validateLogPath(value)).toThrow(/must be a string/);
  });

  it('explains glob problems with their position', () => {
    expect(globProblem('/a/[b')).toBe('unclosed [ at position 4');
    expect(globProblem('/a/**/b')).toBeUndefined();
  });

  it('leaves SQL-looking text alone: it is data, not a path problem', () => {
    expect(validateLogPath("/var/log/x'); DROP TABLE t_logagent_tail; --")).toBe(
      "/var/log/x'); DROP TABLE t_logagent_tail; --",
    );
  });
});

describe('ips', () => {
  it.each([
    ['10.0.0.7', '10.0.0.7'],
    ['255.255.255.255', '255.255.255.255'],
    ['::1', '::1'],
    ['FE80::1', 'fe80::1'],
    ['2001:db8::abcd:1', '2001:db8::abcd:1'],
    [' 10.0.0.8 ', '10.0.0.8'],
  ])('accepts %s as %s', (input, expected) => {
    expect(validateIp(input)).toBe(expected);
  });

  it.each(['', 'localhost', '10.0.0', '10.0.0.256', '10.0.0.7/24', "1.1.1.1' OR '1'='1", '::g'])(
    'rejects %j',
    (ip) => {
      expect(() => validateIp(ip)).toThrow(/is not an IP address/);
    },
  );

  it('rejects an IPv6 address that does not fit varchar(16)', () => {
    expect(() => validateIp('2001:db8:85a3::8a2e:370:7334')).toThrow(/longer than 16/);
  });
});

describe('topics', () => {
  it.each(['app', 'a.b_c-D9', 'x'.repeat(249)])('accepts %s', (topic) => {
    expect(validateTopic(topic)).toBe(topic);
  });

  it.each(['', 'x'.repeat(250), 'a b', 'a/b', "app'; --", 'ü', '.', '..', 7])(
    'rejects %j',
    (topic) => {
      expect(() => validateTopic(topic)).toThrow(AdminInputError);
    },
  );
});

describe('other inputs', () => {
  it('accepts positive integer ids only', () => {
    expect(validateId('12')).toBe(12);
    expect(validateId(3)).toBe(3);
    for (const bad of ['0', '-1', '1.5', '1e3', '01', 'abc', '', '2147483648', 1.5, null]) {
      expect(() => validateId(bad, 'node id')).toThrow(/node id must be a positive integer/);
    }
  });

  it('accepts only the statuses 0 and 1', () => {
    expect(validateStatus('0')).toBe('0');
    expect(validateStatus('1')).toBe('1');
    for (const bad of ['2', 1, 'running', '']) expect(() => validateStatus(bad)).toThrow();
  });

  it('derives the key path from the ip and checks given ones', () => {
    expect(defaultKeyPath('10.0.0.7')).toBe('/logagent/10.0.0.7/tails');
    expect(validateKeyPath('/custom/key')).toBe('/custom/key');
    expect(() => validateKeyPath('custom/key')).toThrow(/must start with \//);
    expect(() => validateKeyPath('/a/../b')).toThrow(/\.\. segments/);
    expect(() => validateKeyPath(`/${'k'.repeat(255)}`)).toThrow(/longer than 255/);
  });

  it('bounds server names', () => {
    expect(validateServerName("web'; DROP TABLE x; --")).toBe("web'; DROP TABLE x; --");
    expect(() => validateServerName('w'.repeat(256))).toThrow(/longer than 255/);
    expect(() => validateServerName('a\tb')).toThrow(/control characters/);
  });

  it('formats create_time as YYYY-MM-DD HH:mm:ss in UTC', () => {
    expect(formatCreateTime(new Date('2026-11-27T04:05:06.789+02:00'))).toBe('2026-11-27 02:05:06');
  });
});

describe('connection settings', () => {
  it('parses a MySQL URL', () => {
    expect(parseMysqlUrl('mysql://u%40x:p%3Aw@db.example:3307/ctl')).toEqual({
      host: 'db.example',
      port: 3307,
      user: 'u@x',
      password: 'p:w',
      database: 'ctl',
    });
    expect(parseMysqlUrl('mysql://root@[::1]/ctl')).toMatchObject({ host: '::1', port: 3306 });
  });

  it.each([
    ['127.0.0.1:3306/db', /mysql:\/\//],
    ['postgres://h/db', /must start with mysql:\/\//],
    ['mysql://h:3306', /must name a database/],
    ['mysql://h:3306/', /must name a database/],
  ])('rejects the MySQL URL %s', (url, message) => {
    expect(() => parseMysqlUrl(url)).toThrow(message);
  });

  it('parses etcd endpoints', () => {
    expect(parseEtcdEndpoints('127.0.0.1:2379, https://e2:2379,,')).toEqual([
      'http://127.0.0.1:2379',
      'https://e2:2379',
    ]);
    expect(parseEtcdEndpoints('')).toEqual([]);
  });

  it('serialises tails as DESIGN.md has them, in id order', () => {
    const t = { nodeId: 1, createTime: '2026-11-27 00:00:00' };
    expect(
      nodeValue([
        { ...t, id: 2, logPath: '/b', topic: 'b', status: '0' },
        { ...t, id: 1, logPath: '/a', topic: 'a', status: '1' },
      ]),
    ).toBe(
      '[{"id":1,"log_path":"/a","topic":"a","status":"1"},{"id":2,"log_path":"/b","topic":"b","status":"0"}]',
    );
    expect(nodeValue([])).toBe('[]');
  });
});
