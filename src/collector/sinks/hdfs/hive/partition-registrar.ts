import { RelayError, isRetriable } from '../../../../common/errors/relay-error.js';
import type { Logger } from '../../../../common/logging/logger.js';
import type { Counter } from 'prom-client';
import type { HiveConfig } from './config.js';
import { HIVE_PARTITION_SEGMENTS, hiveTablePrefix } from '../file-layout.js';
import { HiveCatalog } from './hive-catalog.js';

// Registers an HDFS sink's closed files with the Hive Metastore: the topic folder as an
// EXTERNAL table (created if missing), each hour folder as a partition when its first file is
// closed. Registration never holds a write up: it runs beside the sink and is retried.

/** The sink's `hive` section: a catalog's settings, the table named per topic. */
export interface HiveSinkSettings extends Omit<HiveConfig, 'table'> {
  /** Table name; `{topic}` stands for the topic (lower case, other characters as `_`). */
  readonly table: string;
  /** The HDFS the metastore stores locations under (`hdfs://namenode:8020`, its fs.defaultFS). */
  readonly filesystem: string;
}

/** A closed file's place in the warehouse, read from its final path. */
export interface FilePartition {
  readonly table: string;
  /** Topic folder, as a path in HDFS. */
  readonly tableFolder: string;
  readonly dt: string;
  readonly hour: string;
  /** Hour folder, as a path in HDFS. */
  readonly folder: string;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `{topic}` as a Hive name: lower case, anything but letters, digits and `_` as `_`. */
export function hiveTableName(template: string, topic: string): string {
  return template.replaceAll('{topic}', topic.toLowerCase().replace(/[^a-z0-9_]/g, '_'));
}

/**
 * A reader of final paths for `pathTemplate`: the template's folder part before
 * HIVE_PARTITION_SEGMENTS becomes a regex with `{topic}` captured (other tokens match one
 * segment). undefined when the template is not laid out for Hive.
 */
export function partitionReader(
  pathTemplate: string,
  tableTemplate: string,
): ((finalPath: string) => FilePartition | undefined) | undefined {
  const prefix = hiveTablePrefix(pathTemplate);
  if (prefix === undefined) return undefined;
  let source = '';
  let last = 0;
  const captures: string[] = [];
  for (const m of prefix.matchAll(/\{([a-zA-Z-]+)\}/g)) {
    source += escapeRegex(prefix.slice(last, m.index));
    last = m.index + m[0].length;
    source += m[1] === 'topic' ? '([^/]+)' : '[^/]+';
    if (m[1] === 'topic') captures.push('topic');
  }
  source += escapeRegex(prefix.slice(last));
  const regex = new RegExp(`^(${source})/dt=(\\d{4}-\\d{2}-\\d{2})/hour=(\\d{2})/[^/]+$`);
  return (finalPath) => {
    const m = regex.exec(finalPath);
    if (!m) return undefined;
    const topic = captures.length > 0 ? (m[2] ?? '') : '';
    const [tableFolder, dt, hour] = [m[1], m[m.length - 2], m[m.length - 1]] as [
      string,
      string,
      string,
    ];
    return {
      table: hiveTableName(tableTemplate, topic),
      tableFolder,
      dt,
      hour,
      folder: `${tableFolder}/dt=${dt}/hour=${hour}`,
    };
  };
}

/** Adds partitions as files close; retries what failed on `retry()` (the sink's timer). */
export class PartitionRegistrar {
  readonly #settings: HiveSinkSettings;
  readonly #compression: 'none' | 'gzip';
  readonly #log: Logger;
  readonly #read: (finalPath: string) => FilePartition | undefined;
  readonly #counter: Counter<'sink' | 'result'>;
  readonly #sink: string;
  readonly #catalogs = new Map<string, HiveCatalog>();
  /** Tables whose existence was ensured, and partitions known to be registered. */
  readonly #ensured = new Set<string>();
  readonly #registered = new Set<string>();
  /** Partitions whose registration failed (retriable): tried again. */
  readonly #pending = new Map<string, FilePartition>();
  #running = Promise.resolve();

  constructor(opts: {
    sink: string;
    settings: HiveSinkSettings;
    pathTemplate: string;
    compression: 'none' | 'gzip';
    log: Logger;
    counter: Counter<'sink' | 'result'>;
  }) {
    this.#sink = opts.sink;
    this.#settings = opts.settings;
    this.#compression = opts.compression;
    this.#log = opts.log;
    this.#counter = opts.counter;
    const read = partitionReader(opts.pathTemplate, opts.settings.table);
    if (!read)
      throw new RelayError(
        'CONFIG_INVALID',
        `hive needs a pathTemplate ending in ${HIVE_PARTITION_SEGMENTS}<file name>`,
      );
    this.#read = read;
  }

  /** A file was closed under `finalPath`: its partition is registered unless known. */
  closed(finalPath: string): Promise<void> {
    const p = this.#read(finalPath);
    if (!p) return Promise.resolve();
    const key = `${p.table}/${p.dt}/${p.hour}`;
    if (this.#registered.has(key)) return Promise.resolve();
    this.#pending.set(key, p);
    return this.retry();
  }

  /** Registers what is pending, one at a time. */
  retry(): Promise<void> {
    this.#running = this.#running.then(() => this.#drain());
    return this.#running;
  }

  async #drain(): Promise<void> {
    for (const [key, p] of [...this.#pending]) {
      try {
        await this.#register(p);
        this.#pending.delete(key);
        this.#registered.add(key);
      } catch (err) {
        const retriable = isRetriable(err);
        this.#counter.inc({ sink: this.#sink, result: retriable ? 'retry' : 'refused' });
        if (!retriable) this.#pending.delete(key);
        this.#log.warn(
          { err, table: p.table, dt: p.dt, hour: p.hour },
          retriable
            ? 'cannot add the Hive partition yet; will retry'
            : 'the Hive Metastore refused the partition; not retried',
        );
        if (retriable) return;
      }
    }
  }

  async #register(p: FilePartition): Promise<void> {
    let catalog = this.#catalogs.get(p.table);
    if (!catalog) {
      catalog = new HiveCatalog({ ...this.#settings, table: p.table }, this.#log);
      await catalog.start();
      this.#catalogs.set(p.table, catalog);
    }
    if (!this.#ensured.has(p.table)) {
      await catalog.ensureTable({
        location: `${this.#settings.filesystem}${p.tableFolder}`,
        compression: this.#compression,
      });
      this.#ensured.add(p.table);
    }
    const result = await catalog.addPartition(
      { dt: p.dt, hour: p.hour },
      `${this.#settings.filesystem}${p.folder}`,
    );
    this.#counter.inc({ sink: this.#sink, result });
    if (result === 'added')
      this.#log.info({ table: p.table, dt: p.dt, hour: p.hour }, 'added Hive partition');
  }

  /** Tries what is pending once more, then closes the metastore connections. */
  async stop(): Promise<void> {
    await this.retry();
    await this.#running;
    for (const catalog of this.#catalogs.values()) await catalog.stop();
    this.#catalogs.clear();
  }
}
