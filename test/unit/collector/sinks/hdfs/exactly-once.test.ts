import { describe, expect, it } from 'vitest';
import { collectorConfigSchema } from '../../../../../src/collector/config.js';
import { ledgerPaths } from '../../../../../src/collector/sinks/hdfs/exactly-once/commit-store.js';
import {
  advanceMarks,
  decodeAgentNode,
  decodeFileNode,
  encodeAgentNode,
  encodeFileNode,
} from '../../../../../src/collector/sinks/hdfs/exactly-once/stream-marks.js';
import { sinkGuarantee } from '../../../../../src/collector/sinks/registry.js';
import { ConfigError } from '../../../../../src/common/config/index.js';
import { validateConfig } from '../../../../../src/common/config/load-config.js';

describe('HDFS exactly-once: marks and ledger nodes', () => {
  it('moves marks forward only, most recently written last, and drops the oldest past the cap', () => {
    const marks = new Map([
      ['a', 10],
      ['b', 20],
      ['c', 30],
    ]);
    const next = advanceMarks(
      marks,
      new Map([
        ['a', 15],
        ['b', 5],
      ]),
      3,
    );
    expect([...next]).toEqual([
      ['c', 30],
      ['a', 15],
      ['b', 20],
    ]);
    // The input is left alone: a refused commit keeps the claim's marks as they were.
    expect(marks.get('a')).toBe(10);
    expect([...advanceMarks(next, new Map([['d', 1]]), 3)]).toEqual([
      ['a', 15],
      ['b', 20],
      ['d', 1],
    ]);
  });

  it('round-trips agent and file nodes, and refuses what it cannot read', () => {
    const node = {
      owner: 'c1~00ab',
      marks: new Map([
        ['agent:1:2:0', 4096],
        ['agent:1:3:1', 0],
      ]),
    };
    expect(decodeAgentNode(encodeAgentNode(node))).toEqual(node);
    expect(decodeAgentNode(Buffer.alloc(0))).toEqual({ owner: '', marks: new Map() });
    expect(decodeAgentNode(Buffer.from('{"v":2,"marks":[]}'))).toBeUndefined();
    expect(decodeAgentNode(Buffer.from('{"v":1,"marks":[["k",1.5]]}'))).toBeUndefined();
    expect(decodeAgentNode(Buffer.from('not json'))).toBeUndefined();
    const file = {
      inProgress: '/d/.f.inprogress',
      recovering: '/d/.f.r',
      final: '/d/f',
      length: 7,
    };
    expect(decodeFileNode(encodeFileNode(file))).toEqual(file);
    expect(decodeFileNode(encodeFileNode({ ...file, length: -1 }))).toBeUndefined();
  });

  it('keeps one ledger per sink under the cluster root, names escaped', () => {
    expect(ledgerPaths('/logrelay/', 'hdfs/main')).toEqual({
      base: '/logrelay/sinks/hdfs/hdfs%2Fmain',
      agents: '/logrelay/sinks/hdfs/hdfs%2Fmain/agents',
      writers: '/logrelay/sinks/hdfs/hdfs%2Fmain/writers',
      files: '/logrelay/sinks/hdfs/hdfs%2Fmain/files',
      recovering: '/logrelay/sinks/hdfs/hdfs%2Fmain/recovering',
    });
  });
});

describe('HDFS exactly-once: configuration', () => {
  const hdfs = { type: 'hdfs', name: 'h' };
  const issues = (config: Record<string, unknown>) => {
    try {
      validateConfig(collectorConfigSchema, config, 'test');
      return [];
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    }
  };

  it('is the default, and needs ZooKeeper: the sink’s own or the cluster’s', () => {
    expect(issues({ sinks: [hdfs] })).toEqual([
      expect.stringMatching(/^sinks\[0\]\.exactlyOnce: needs ZooKeeper/),
    ]);
    const zookeeper = { connect: '127.0.0.1:2181' };
    expect(issues({ sinks: [{ ...hdfs, zookeeper }] })).toEqual([]);
    expect(issues({ sinks: [hdfs], cluster: { zookeeper } })).toEqual([]);
    expect(issues({ sinks: [{ ...hdfs, exactlyOnce: false }] })).toEqual([]);
  });

  it('is what status shows as the sink’s guarantee', () => {
    const parse = (extra: Record<string, unknown>) =>
      validateConfig(
        collectorConfigSchema,
        { sinks: [{ ...hdfs, ...extra }], cluster: { zookeeper: { connect: '127.0.0.1:2181' } } },
        'test',
      ).sinks[0]!;
    expect(sinkGuarantee(parse({}))).toBe('exactly-once');
    expect(sinkGuarantee(parse({ exactlyOnce: false }))).toBe('at-least-once');
  });
});
