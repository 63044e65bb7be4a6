import { describe, expect, it } from 'vitest';
import {
  hiveTableName,
  partitionReader,
} from '../../../../../../src/collector/sinks/hdfs/hive/partition-registrar.js';
import { hdfsSinkConfigSchema } from '../../../../../../src/collector/sinks/hdfs/config.js';

describe('Hive partitions of an HDFS sink', () => {
  it('names a table per topic, as Hive takes names', () => {
    expect(hiveTableName('logs_{topic}', 'Web-Access.v2')).toBe('logs_web_access_v2');
    expect(hiveTableName('app_logs', 'web')).toBe('app_logs');
  });

  it('reads table, folder and partition values from a final path', () => {
    const read = partitionReader(
      '/logrelay/{topic}/dt={yyyy-MM-dd}/hour={HH}/{collector}-{n}.log',
      '{topic}',
    );
    expect(read?.('/logrelay/web/dt=2026-12-07/hour=16/c1-0.log.gz')).toEqual({
      table: 'web',
      tableFolder: '/logrelay/web',
      dt: '2026-12-07',
      hour: '16',
      folder: '/logrelay/web/dt=2026-12-07/hour=16',
    });
    expect(read?.('/logrelay/web/dt=latest/hour=16/c1-0.log')).toBeUndefined();
    expect(read?.('/elsewhere/web/dt=2026-12-07/hour=16/c1-0.log')).toBeUndefined();
    const fixed = partitionReader('/wh/{collector}/dt={yyyy-MM-dd}/hour={HH}/{n}.log', 'all');
    expect(fixed?.('/wh/c9/dt=2026-01-02/hour=03/0.log')?.table).toBe('all');
  });

  it('needs the partition folders right before the file name', () => {
    expect(partitionReader('/l/{topic}/{yyyy}/{n}.log', 't')).toBeUndefined();
    const issues = hdfsSinkConfigSchema.safeParse({
      type: 'hdfs',
      name: 'h',
      pathTemplate: '/l/{topic}/{yyyy-MM-dd}/{n}.log',
      hive: { table: '{topic}', filesystem: 'hdfs://nn:8020' },
    });
    expect(issues.success).toBe(false);
    expect(issues.error?.issues.map((i) => i.path.join('.'))).toEqual(['pathTemplate']);
    const ok = hdfsSinkConfigSchema.safeParse({
      type: 'hdfs',
      name: 'h',
      hive: { table: 'logs_{topic}', filesystem: 'hdfs://nn:8020' },
    });
    expect(ok.success).toBe(true);
    const bad = hdfsSinkConfigSchema.safeParse({
      type: 'hdfs',
      name: 'h',
      hive: { table: 'Logs', filesystem: 'nn:8020' },
    });
    expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'hive.filesystem',
      'hive.table',
    ]);
  });
});
