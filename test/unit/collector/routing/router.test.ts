import { describe, expect, it } from 'vitest';
import { Router } from '../../../../src/collector/routing/router.js';

describe('Router', () => {
  const router = new Router(
    [
      { topics: ['audit'], sinks: ['kafka', 'hdfs'] },
      { topics: ['web-*', 'api.?'], sinks: ['kafka'] },
    ],
    ['file'],
  );

  it('routes by the first matching rule', () => {
    expect(router.sinksFor('audit')).toEqual(['kafka', 'hdfs']);
    expect(router.sinksFor('web-nginx')).toEqual(['kafka']);
    expect(router.sinksFor('api.1')).toEqual(['kafka']);
  });

  it('sends unmatched topics to the default sinks', () => {
    expect(router.sinksFor('api.12')).toEqual(['file']);
    expect(router.sinksFor('webnginx')).toEqual(['file']);
  });

  it('treats regex characters in patterns literally', () => {
    const r = new Router([{ topics: ['a.b'], sinks: ['x'] }], []);
    expect(r.sinksFor('a.b')).toEqual(['x']);
    expect(r.sinksFor('aXb')).toEqual([]);
  });
});
