import { describe, expect, it } from 'vitest';
import { parseRemoteTails, refusal } from '../../../../src/agent/control/remote-tails.js';

describe('remote tails from etcd', () => {
  const allow = ['/var/log/app'];

  it('keeps running tails inside the allowlist, as tails named by their id', () => {
    const value = JSON.stringify([
      { id: 1, log_path: '/var/log/app/a.log', topic: 'app', status: '1' },
      { id: 2, log_path: '/var/log/app/*.log', topic: 'web', status: 1 },
      { id: 3, log_path: '/var/log/app/b.log', topic: 'app', status: '0' },
    ]);
    const { tails, refused } = parseRemoteTails(value, allow);
    expect(tails.map((t) => [t.name, t.config.paths, t.config.topic])).toEqual([
      ['remote:1', ['/var/log/app/a.log'], 'app'],
      ['remote:2', ['/var/log/app/*.log'], 'web'],
    ]);
    expect(refused).toEqual([]);
  });

  it.each([
    ['/etc/shadow', 'outside the allowed roots'],
    ['/var/log/app/../../../etc/shadow', 'not a normalized path'],
    ['/var/log/application/x.log', 'outside the allowed roots'],
    ['relative.log', 'not an absolute path'],
    ['/proc/1/environ', 'outside the allowed roots'],
    ['/var/log/app//x.log', 'not a normalized path'],
  ])('refuses %s', (path, reason) => {
    expect(refusal(path, allow)).toContain(reason);
    const { tails, refused } = parseRemoteTails(
      JSON.stringify([{ id: 9, log_path: path, topic: 't', status: '1' }]),
      allow,
    );
    expect(tails).toEqual([]);
    expect(refused[0]?.reason).toContain(reason);
  });

  it('refuses everything when no root is allowed, and bad topics', () => {
    expect(refusal('/var/log/app/a.log', [])).toContain('none configured');
    const { refused } = parseRemoteTails(
      JSON.stringify([{ id: 1, log_path: '/var/log/app/a', topic: 'a b', status: '1' }]),
      allow,
    );
    expect(refused[0]?.reason).toContain('bad topic');
  });

  it('rejects a value that is not a JSON array', () => {
    expect(() => parseRemoteTails('{"id":1}', allow)).toThrow('not a JSON array');
    expect(() => parseRemoteTails('garbage', allow)).toThrow();
  });
});
