import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../../../../src/common/errors/relay-error.js';
import { createLogger } from '../../../../../../src/common/logging/logger.js';
import { hiveConfigSchema } from '../../../../../../src/collector/sinks/hdfs/hive/config.js';
import { HiveCatalog } from '../../../../../../src/collector/sinks/hdfs/hive/hive-catalog.js';

// Lifecycle and argument checks, which never reach a metastore (the real one is exercised by
// test/integration/hive-metastore.test.ts).
const log = createLogger({ level: 'silent' });
const config = hiveConfigSchema.parse({ metastoreUri: 'thrift://127.0.0.1:1', table: 'web' });

describe('HiveCatalog', () => {
  it('stops safely before start and twice, and starts again after a stop', async () => {
    const catalog = new HiveCatalog(config, log);
    await catalog.stop();
    await catalog.start();
    await catalog.start();
    expect(catalog.running).toBe(true);
    await catalog.stop();
    await catalog.stop();
    expect(catalog.running).toBe(false);
    await catalog.start(); // start sends nothing: a metastore that is down does not fail it
    expect(catalog.running).toBe(true);
    await catalog.stop();
  });

  it('refuses calls while not started', async () => {
    const catalog = new HiveCatalog(config, log);
    await expect(catalog.partitions()).rejects.toMatchObject({ code: 'LIFECYCLE' });
    await expect(
      catalog.ensureTable({ location: 'hdfs://nn:8020/logrelay/web', compression: 'none' }),
    ).rejects.toMatchObject({ code: 'LIFECYCLE' });
  });

  it('checks partition values and locations before calling the metastore', async () => {
    const catalog = new HiveCatalog(config, log);
    await catalog.start();
    try {
      await expect(
        catalog.addPartition({ dt: '2026/12/07', hour: '16' }, 'hdfs://nn:8020/x/dt=1/hour=2'),
      ).rejects.toMatchObject({ code: 'HIVE_BAD_PARTITION', retriable: false });
      await expect(
        catalog.addPartition({ dt: '2026-12-07', hour: '16' }, '/logrelay/web'),
      ).rejects.toMatchObject({ code: 'HIVE_BAD_LOCATION' });
      await expect(
        catalog.ensureTable({ location: 'logrelay/web', compression: 'none' }),
      ).rejects.toMatchObject({ code: 'HIVE_BAD_LOCATION' });
    } finally {
      await catalog.stop();
    }
  });

  it('names itself database.table and rejects an unusable URI at construction', () => {
    expect(new HiveCatalog(config, log).qualifiedName).toBe('default.web');
    expect(() => new HiveCatalog({ ...config, metastoreUri: 'http://x:1' }, log)).toThrow(
      RelayError,
    );
  });
});
