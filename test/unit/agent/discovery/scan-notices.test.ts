import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ScanNotices } from '../../../../src/agent/discovery/scan-notices.js';

describe('ScanNotices', () => {
  function notices() {
    const registry = new Registry();
    const counter = new Counter({
      name: 'problems_total',
      help: 'test',
      labelNames: ['kind'],
      registers: [registry],
    });
    const logged: string[] = [];
    const n = new ScanNotices(counter);
    const count = async (kind: string) =>
      (await counter.get()).values.find((v) => v.labels['kind'] === kind)?.value ?? 0;
    return { n, logged, count };
  }

  it('logs a problem once per subject and state, and counts every occurrence', async () => {
    const { n, logged, count } = notices();
    for (let scan = 0; scan < 5; scan++) {
      n.problem('file', '/a', 'EACCES', () => logged.push('a EACCES'));
      n.problem('directory', '/d', 'EACCES', () => logged.push('d EACCES'));
      n.endScan();
    }
    n.problem('file', '/a', 'EIO', () => logged.push('a EIO'));
    n.endScan();
    expect(logged).toEqual(['a EACCES', 'd EACCES', 'a EIO']);
    expect(await count('file')).toBe(6);
    expect(await count('directory')).toBe(5);
  });

  it('logs again after the subject was fine, or was not met by a scan', () => {
    const { n, logged } = notices();
    n.problem('file', '/a', 'EACCES', () => logged.push('1'));
    expect(n.clear('file', '/a')).toBe(true);
    expect(n.clear('file', '/a')).toBe(false);
    n.problem('file', '/a', 'EACCES', () => logged.push('2'));
    n.endScan();
    n.endScan(); // a scan that did not meet /a (deleted): forgotten
    expect(n.state('file', '/a')).toBeUndefined();
    n.problem('file', '/a', 'EACCES', () => logged.push('3'));
    expect(logged).toEqual(['1', '2', '3']);
  });

  it('keeps the state of a subject a scan only saw, and forgets one it did not meet', () => {
    const { n, logged } = notices();
    n.problem('file', '/link', 'outside', () => logged.push('refused'));
    n.endScan();
    n.seen('file', '/link'); // the link pointed at a file already open
    n.seen('file', '/other'); // never had a problem: nothing kept
    n.endScan();
    expect(n.state('file', '/link')).toBe('outside');
    expect(n.state('file', '/other')).toBeUndefined();
    n.problem('file', '/link', 'outside', () => logged.push('refused again'));
    expect(logged).toEqual(['refused']);
  });
});
