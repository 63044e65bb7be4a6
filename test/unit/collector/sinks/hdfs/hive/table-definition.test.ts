import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../../../../src/common/errors/relay-error.js';
import {
  FIELD_DELIMITER,
  checkLocation,
  checkPartitionValues,
  externalTable,
  hasLogrelayPartitionKeys,
  partitionName,
  tablePartition,
} from '../../../../../../src/collector/sinks/hdfs/hive/table-definition.js';

const codeOf = (fn: () => void): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof RelayError ? err.code : 'not a RelayError';
  }
  return undefined;
};

describe('Hive table definition', () => {
  const table = externalTable({
    database: 'logs',
    table: 'web',
    location: 'hdfs://nn:8020/logrelay/web',
    compression: 'gzip',
    nowSeconds: 1_796_659_200,
  });

  it('is an EXTERNAL text table with one line column, partitioned by dt then hour', () => {
    expect(table.tableType).toBe('EXTERNAL_TABLE');
    expect(table.parameters['EXTERNAL']).toBe('TRUE');
    expect(table.sd.cols.map((c) => `${c.name} ${c.type}`)).toEqual(['line string']);
    expect(table.partitionKeys.map((k) => `${k.name} ${k.type}`)).toEqual([
      'dt string',
      'hour string',
    ]);
    expect(table.sd.inputFormat).toBe('org.apache.hadoop.mapred.TextInputFormat');
    expect(table.sd.serdeInfo.serializationLib).toBe(
      'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
    );
    // \u0001, not a tab or comma: a log line is never split into columns.
    expect(table.sd.serdeInfo.parameters['field.delim']).toBe(FIELD_DELIMITER);
    expect(FIELD_DELIMITER).toBe('\u0001');
    expect(table.sd.location).toBe('hdfs://nn:8020/logrelay/web');
    expect(table.sd.compressed).toBe(true);
    expect(hasLogrelayPartitionKeys(table)).toBe(true);
  });

  it('gives a partition the table storage with the partition folder as location', () => {
    const part = tablePartition({
      table,
      database: 'logs',
      tableName: 'web',
      values: { dt: '2026-12-07', hour: '16' },
      location: 'hdfs://nn:8020/logrelay/web/dt=2026-12-07/hour=16',
      nowSeconds: 1_796_659_200,
    });
    expect(part.values).toEqual(['2026-12-07', '16']);
    expect(part.sd).toEqual({
      ...table.sd,
      location: 'hdfs://nn:8020/logrelay/web/dt=2026-12-07/hour=16',
    });
  });

  it('tells tables with other partition keys apart', () => {
    expect(hasLogrelayPartitionKeys({ ...table, partitionKeys: [table.partitionKeys[0]!] })).toBe(
      false,
    );
    expect(
      hasLogrelayPartitionKeys({
        ...table,
        partitionKeys: [...table.partitionKeys].reverse(),
      }),
    ).toBe(false);
  });

  it('names partition folders as Hive does', () => {
    expect(partitionName({ dt: '2026-12-07', hour: '16' })).toBe('dt=2026-12-07/hour=16');
  });

  it('refuses partition values Hive would escape or that are empty', () => {
    expect(codeOf(() => checkPartitionValues({ dt: '2026-12-07', hour: '16' }))).toBeUndefined();
    expect(codeOf(() => checkPartitionValues({ dt: '2026 12 07', hour: '16' }))).toBeUndefined();
    for (const bad of ['', '2026/12/07', '12:00', 'a=b', '50%', 'x\ny', 'a#b']) {
      expect(
        codeOf(() => checkPartitionValues({ dt: bad, hour: '16' })),
        bad,
      ).toBe('HIVE_BAD_PARTITION');
    }
  });

  it('wants full URIs as locations', () => {
    expect(codeOf(() => checkLocation('hdfs://nn:8020/logrelay/web'))).toBeUndefined();
    expect(codeOf(() => checkLocation('/logrelay/web'))).toBe('HIVE_BAD_LOCATION');
    expect(codeOf(() => checkLocation('hdfs://nn:8020'))).toBe('HIVE_BAD_LOCATION');
    expect(codeOf(() => checkLocation('logrelay/web'))).toBe('HIVE_BAD_LOCATION');
  });
});
