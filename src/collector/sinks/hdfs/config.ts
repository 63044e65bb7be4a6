import { z } from 'zod';
import { zookeeperConfigSchema } from '../../../common/zk/zk-config.js';
import { sinkCommonFields } from '../sink-config.js';
import { hiveConfigSchema } from './hive/config.js';
import { HIVE_PARTITION_SEGMENTS, hiveTablePrefix } from './file-layout.js';

/**
 * `hive` of an HDFS sink: the metastore settings of HiveCatalog, with the table named per topic
 * and the file system the metastore stores locations under.
 */
const hdfsHiveSchema = hiveConfigSchema
  .extend({
    /** Table name; `{topic}` stands for the topic (lower case, other characters as `_`). */
    table: z
      .string()
      .regex(/^([a-z0-9_]|\{topic\})+$/, 'lower-case letters, digits, _ and {topic}')
      .describe('Hive table; {topic} is replaced by the topic (lower case). Required.'),
    /**
     * The HDFS the metastore knows the files under (its fs.defaultFS), for the table's and the
     * partitions' locations, e.g. hdfs://namenode:8020. Required.
     */
    filesystem: z
      .string()
      .regex(/^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/, 'a file system URI such as hdfs://namenode:8020')
      .describe('File system URI of the locations, e.g. hdfs://namenode:8020. Required.'),
  })
  .describe(
    'Hive: an EXTERNAL table per topic (created if missing), a partition (dt, hour) added when ' +
      'its first file is closed. Default: unset.',
  );

const MiB = 1024 * 1024;

/**
 * `sinks[]` entry of type `hdfs`: newline-terminated lines in HDFS files written through the
 * WebHDFS REST API, one in-progress file per topic, renamed to its final name when rolled
 * (DESIGN.md "Records in the sinks"). A batch is acknowledged once the APPEND carrying its
 * lines returned.
 */
export const hdfsSinkConfigSchema = z
  .strictObject({
    /** Discriminator of the `sinks[]` entry. */
    type: z.literal('hdfs').describe('Sink type: hdfs.'),
    ...sinkCommonFields,
    /**
     * The NameNode's HTTP address (WebHDFS is served under `/webhdfs/v1`). CREATE and APPEND
     * are redirected to a DataNode, whose address the NameNode chooses. Default:
     * http://127.0.0.1:9870.
     */
    namenodeUrl: z
      .url({ protocol: /^https?$/ })
      .default('http://127.0.0.1:9870')
      .describe('NameNode HTTP address (WebHDFS). Default: http://127.0.0.1:9870.'),
    /**
     * HDFS user the requests act as (`user.name`, simple authentication; Kerberos is not
     * supported). Default: logrelay.
     */
    user: z
      .string()
      .min(1)
      .default('logrelay')
      .describe('HDFS user (user.name, simple auth). Default: logrelay.'),
    /**
     * Absolute HDFS path of a file. Tokens: `{topic}`, `{collector}` (the collector id),
     * `{yyyy}`, `{MM}`, `{dd}`, `{HH}`, `{yyyy-MM-dd}` (UTC, the time the file was opened; a
     * file is rolled when these change, so an hour's partition only holds that hour's lines),
     * and `{n}`, the file counter (required, so a rolled file is never written again). Keep
     * `{collector}` in the name: it is how a restarted collector finds the in-progress files
     * its previous run left. Default: /logrelay/{topic}/dt={yyyy-MM-dd}/hour={HH}/{collector}-{n}.log.
     */
    pathTemplate: z
      .string()
      .min(2)
      .default('/logrelay/{topic}/dt={yyyy-MM-dd}/hour={HH}/{collector}-{n}.log')
      .refine((t) => t.startsWith('/'), 'must be an absolute HDFS path')
      .refine((t) => t.includes('{n}'), 'must contain {n}, the file counter')
      .refine((t) => !t.endsWith('/'), 'must name a file, not a folder')
      .refine(
        (t) => !t.split('/').some((s) => s === '..' || s === '.'),
        'must not contain . or .. segments',
      )
      .describe(
        'HDFS file path template; must contain {n}. ' +
          'Default: /logrelay/{topic}/dt={yyyy-MM-dd}/hour={HH}/{collector}-{n}.log.',
      ),
    /**
     * Put before the name of the file being written; removed by the rename when the file is
     * closed. Hive, Spark and MapReduce skip names starting with `.` or `_`, so they never read
     * an unfinished file (nor its torn last line). Default: `.`.
     */
    inProgressPrefix: z
      .string()
      .regex(/^[^/]*$/, 'must not contain /')
      .default('.')
      .describe(
        'Prefix of the file being written (. or _ hides it from Hive/Spark). Default: ".".',
      ),
    /**
     * Appended to the name of the file being written; removed by the rename when the file is
     * closed. Default: .inprogress.
     */
    inProgressSuffix: z
      .string()
      .min(1)
      .regex(/^[^/]+$/, 'must not contain /')
      .default('.inprogress')
      .describe('Suffix of the file being written. Default: .inprogress.'),
    /**
     * Roll to a new file once a file holds this many bytes (a file may exceed it by at most one
     * batch). HDFS prefers few large files: the default is one HDFS block. Default: 134217728
     * (128 MiB).
     */
    maxFileBytes: z
      .number()
      .int()
      .positive()
      .default(128 * MiB)
      .describe('Roll past this size, in bytes. Default: 134217728 (128 MiB).'),
    /**
     * Roll a file this old, in ms, even when it is small (an idle topic's file is rolled too).
     * Default: 3600000 (1 h). With the default hourly partitions a file is rolled at the end of
     * its hour anyway, so this default yields at most about one file per topic, collector and
     * hour for a quiet topic; a shorter age multiplies HDFS's small files (Flume's 30 s default
     * is the classic way to drown a NameNode).
     */
    maxFileAgeMs: z
      .number()
      .int()
      .positive()
      .default(3_600_000)
      .describe('Roll a file this old, in ms. Default: 3600000 (1 h).'),
    /**
     * How long lines wait, in ms, for more lines of other batches before their file's APPEND is
     * sent: every batch pending for a file goes in one APPEND (group commit), which keeps the
     * NameNode's load independent of the number of agents. Adds at most this much to a batch's
     * acknowledgement latency (budget: about 1 s end to end). Default: 200.
     */
    flushIntervalMs: z
      .number()
      .int()
      .nonnegative()
      .default(200)
      .describe('Aggregation window of appends, in ms. Default: 200.'),
    /**
     * Send a file's APPEND early once this many bytes are pending, and never put more than this
     * in one APPEND (a single larger batch is sent alone). Default: 8388608 (8 MiB).
     */
    maxAppendBytes: z
      .number()
      .int()
      .positive()
      .default(8 * MiB)
      .describe('Bytes per APPEND that trigger an early send. Default: 8388608 (8 MiB).'),
    /** Timeout of one HTTP request to the NameNode or a DataNode, in ms. Default: 30000. */
    requestTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(30_000)
      .describe('Timeout of one WebHDFS HTTP request, in ms. Default: 30000.'),
    /**
     * Attempts of one HDFS operation (APPEND, CREATE, rename) before a write fails with a
     * retriable error (the collector then answers retry-after; nothing is lost). Waits between
     * attempts start at 100 ms and double, up to 2 s. Default: 5 (about 1.5 s of waiting).
     */
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(5)
      .describe('Attempts per HDFS operation before a write fails retriable. Default: 5.'),
    /**
     * Compression of the files: `gzip` compresses each APPEND as one gzip member (a file is a
     * concatenation of members, which Hive, `hdfs dfs -text` and zcat read as one), and the
     * final name gets `.gz` unless `pathTemplate` ends with it, so Hadoop's readers pick the
     * codec by the extension. gzip files are not splittable: one map task reads a whole file,
     * so keep `maxFileBytes` around a block. Default: none.
     */
    compression: z
      .enum(['none', 'gzip'])
      .default('none')
      .describe(
        'File compression: none or gzip (one member per APPEND, .gz names). Default: none.',
      ),
    /** zlib level of `compression: gzip`, 1 (fastest) to 9 (smallest). Default: 6. */
    gzipLevel: z.number().int().min(1).max(9).default(6).describe('gzip level, 1–9. Default: 6.'),
    /**
     * Exactly-once across collector crashes (the default): after each APPEND the file's new
     * length and the written streams' offsets are recorded in ZooKeeper in one transaction
     * before the batches are acknowledged; a collector taking an agent over skips what was
     * recorded, and the files of a dead collector are cut back to their recorded length by a
     * live one before they are closed (docs/architecture.md "HDFS exactly-once"). Needs
     * ZooKeeper: `zookeeper` here or the collector's `cluster.zookeeper`. false: at-least-once
     * (a crash can repeat a killed collector's last appends). Default: true.
     */
    exactlyOnce: z
      .boolean()
      .default(true)
      .describe('Exactly-once across crashes through marks in ZooKeeper. Default: true.'),
    /**
     * ZooKeeper of the exactly-once marks (under `<root>/sinks/hdfs/<sink name>`). Default:
     * the collector's `cluster.zookeeper`.
     */
    zookeeper: zookeeperConfigSchema
      .optional()
      .describe("ZooKeeper of the exactly-once marks. Default: the collector's cluster.zookeeper."),
    /**
     * How often, in ms, the sink looks in ZooKeeper for files of dead writers (a collector
     * killed, or one whose ZooKeeper session expired) to cut back and close. Default: 5000.
     */
    recoveryIntervalMs: z
      .number()
      .int()
      .min(100)
      .default(5000)
      .describe('Interval of the search for dead writers’ files, in ms. Default: 5000.'),
    /**
     * Streams whose marks are kept per agent (the most recently written); an older stream's
     * mark is dropped, which matters only if a batch of it is sent again after that. Default:
     * 1000.
     */
    maxStreamsPerAgent: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .describe('Stream marks kept per agent in ZooKeeper. Default: 1000.'),
    /**
     * How far back, in ms, start-up looks (by the date parts of the path) for in-progress
     * files a crashed run of this collector left, to rename them to their final names.
     * Default: 604800000 (7 days).
     */
    recoveryLookbackMs: z
      .number()
      .int()
      .nonnegative()
      .default(7 * 24 * 3_600_000)
      .describe('Look-back of the start-up recovery of in-progress files, in ms. Default: 7 days.'),
    /**
     * Registers the files with a Hive Metastore: per topic an EXTERNAL table on the topic
     * folder (one `line string` column, partitioned by `dt` and `hour`), created if missing,
     * and each hour folder as a partition as soon as its first file is closed. Needs a
     * `pathTemplate` with `/dt={yyyy-MM-dd}/hour={HH}/` before the file name (the default's).
     * Default: unset.
     */
    hive: hdfsHiveSchema.optional(),
  })
  .superRefine((config, ctx) => {
    if (!config.hive) return;
    if (hiveTablePrefix(config.pathTemplate) === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['pathTemplate'],
        message: `with hive, must end in ${HIVE_PARTITION_SEGMENTS}<file name> (Hive's partition folders)`,
      });
  })
  .describe('HDFS files through WebHDFS.');

export type HdfsSinkConfig = z.output<typeof hdfsSinkConfigSchema>;
