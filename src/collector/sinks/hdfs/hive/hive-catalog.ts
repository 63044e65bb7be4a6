import { RelayError } from '../../../../common/errors/relay-error.js';
import { Component } from '../../../../common/lifecycle/component.js';
import { childLogger, type Logger } from '../../../../common/logging/logger.js';
import { parseMetastoreUri, type HiveConfig } from './config.js';
import { MetastoreClient } from './metastore-client.js';
import {
  OWNER,
  checkLocation,
  checkPartitionValues,
  externalTable,
  hasLogrelayPartitionKeys,
  partitionKeyNames,
  partitionName,
  tablePartition,
  type HiveCompression,
  type HiveTable,
  type PartitionValues,
} from './table-definition.js';

/** What `partitions()` reports of one partition. */
export interface CatalogPartition {
  /** One value per partition key: [dt, hour]. */
  readonly values: string[];
  /** Full URI of the partition folder, as the metastore stored it. */
  readonly location: string;
}

/** What `ensureTable` needs to know of the topic's files. */
export interface TableSpec {
  /** Full URI of the topic folder, e.g. hdfs://namenode:8020/logrelay/web. */
  readonly location: string;
  /** Compression of the files. Text and gzip text are read by the same table (by extension). */
  readonly compression: HiveCompression;
}

/**
 * The Hive side of an HDFS sink: keeps one EXTERNAL table (config `database`.`table`) over the
 * topic folder in a Hive Metastore and registers each partition folder (dt=…/hour=…) in it.
 *
 * `start()` only prepares the client (nothing is sent: a metastore that is down must not stop
 * the sink); the connection is made by the first call and remade after the metastore restarts.
 * Every call may fail with a RelayError whose `code` says what to do (see MetastoreClient):
 * HIVE_UNAVAILABLE is retriable, HIVE_REFUSED / HIVE_BAD_* are not.
 */
export class HiveCatalog extends Component {
  readonly #config: HiveConfig;
  readonly #log: Logger;
  readonly #host: string;
  readonly #port: number;
  #client: MetastoreClient | undefined;
  /** The table as last read or created, for the partitions' storage descriptor. */
  #table: HiveTable | undefined;

  constructor(config: HiveConfig, log: Logger) {
    super('hive-catalog');
    const address = parseMetastoreUri(config.metastoreUri);
    if (typeof address === 'string') {
      throw new RelayError('CONFIG_INVALID', `hive.metastoreUri: ${address}`);
    }
    this.#config = config;
    this.#host = address.host;
    this.#port = address.port;
    this.#log = childLogger(log, 'hive', { hiveTable: this.qualifiedName });
  }

  /** `database.table`. */
  get qualifiedName(): string {
    return `${this.#config.database}.${this.#config.table}`;
  }

  protected doStart(): Promise<void> {
    this.#client = new MetastoreClient({
      host: this.#host,
      port: this.#port,
      requestTimeoutMs: this.#config.requestTimeoutMs,
    });
    return Promise.resolve();
  }

  protected doStop(): Promise<void> {
    this.#client?.close();
    this.#client = undefined;
    this.#table = undefined;
    return Promise.resolve();
  }

  /**
   * Makes sure the table exists: creates the database when missing, then the EXTERNAL table
   * (one `line string` column, partitioned by dt and hour, text files through LazySimpleSerDe)
   * when missing, if `createTable` allows. An existing table is left as it is; partition keys
   * other than (dt, hour) are logged, since partitions could then not be added. Idempotent, and
   * safe to race with another collector doing the same.
   */
  async ensureTable(spec: TableSpec): Promise<void> {
    checkLocation(spec.location);
    const client = this.#running();
    const { database, table, createTable } = this.#config;

    const existing = await this.#getTable(client);
    if (existing) {
      this.#noteExisting(existing, spec);
      return;
    }
    if (!createTable) {
      throw new RelayError(
        'HIVE_REFUSED',
        `Hive table ${this.qualifiedName} does not exist and hive.createTable is false`,
      );
    }

    try {
      await client.getDatabase(database);
    } catch (err) {
      if (!(err instanceof RelayError && err.code === 'HIVE_NOT_FOUND')) throw err;
      try {
        await client.createDatabase({
          name: database,
          description: 'created by logrelay',
          parameters: {},
          ownerName: OWNER,
        });
        this.#log.info({ database }, 'created Hive database');
      } catch (createErr) {
        if (!(createErr instanceof RelayError && createErr.code === 'HIVE_ALREADY_EXISTS')) {
          throw createErr;
        }
      }
    }

    const definition = externalTable({
      database,
      table,
      location: spec.location,
      compression: spec.compression,
      nowSeconds: Math.floor(Date.now() / 1000),
    });
    try {
      await client.createTable(definition);
      this.#log.info({ location: spec.location }, 'created EXTERNAL Hive table');
    } catch (err) {
      // Another collector created it between our get and create: fine, read what it made.
      if (!(err instanceof RelayError && err.code === 'HIVE_ALREADY_EXISTS')) throw err;
    }
    const created = await this.#getTable(client);
    if (!created) {
      throw new RelayError(
        'HIVE_UNAVAILABLE',
        `Hive table ${this.qualifiedName} is missing right after its creation`,
        { retriable: true },
      );
    }
    this.#noteExisting(created, spec);
  }

  /**
   * Registers the partition (dt, hour) with its folder `location` (a full URI). Returns 'exists'
   * when the metastore already has it (its location is then left as it is). Needs the table,
   * partitioned by (dt, hour): call `ensureTable` first; HIVE_REFUSED otherwise.
   */
  async addPartition(values: PartitionValues, location: string): Promise<'added' | 'exists'> {
    checkPartitionValues(values);
    checkLocation(location);
    const client = this.#running();
    const table = this.#table ?? (await this.#getTable(client));
    if (!table) {
      throw new RelayError(
        'HIVE_REFUSED',
        `cannot add partition ${values.dt}/${values.hour}: Hive table ${this.qualifiedName} does not exist`,
      );
    }
    if (!hasLogrelayPartitionKeys(table)) {
      throw new RelayError(
        'HIVE_REFUSED',
        `cannot add partition ${partitionName(values)}: Hive table ${this.qualifiedName} is partitioned by (${partitionKeyNames(table).join(', ')}), not (dt, hour)`,
        { details: { partitionKeys: partitionKeyNames(table) } },
      );
    }
    const partition = tablePartition({
      table,
      database: this.#config.database,
      tableName: this.#config.table,
      values,
      location,
      nowSeconds: Math.floor(Date.now() / 1000),
    });
    try {
      await client.addPartition(partition);
    } catch (err) {
      if (err instanceof RelayError && err.code === 'HIVE_ALREADY_EXISTS') return 'exists';
      throw err;
    }
    this.#log.debug({ dt: values.dt, hour: values.hour, location }, 'added Hive partition');
    return 'added';
  }

  /** Every partition of the table with its folder, in the metastore's order. */
  async partitions(): Promise<CatalogPartition[]> {
    const client = this.#running();
    const parts = await client.getPartitions(this.#config.database, this.#config.table);
    return parts.map((p) => ({ values: [...p.values], location: p.sd.location }));
  }

  /** The table as the metastore has it, or undefined when it does not exist. */
  async describeTable(): Promise<HiveTable | undefined> {
    return this.#getTable(this.#running());
  }

  #running(): MetastoreClient {
    if (!this.#client || !this.running) {
      throw new RelayError('LIFECYCLE', `hive catalog ${this.qualifiedName} is not started`);
    }
    return this.#client;
  }

  async #getTable(client: MetastoreClient): Promise<HiveTable | undefined> {
    try {
      const table = await client.getTable(this.#config.database, this.#config.table);
      this.#table = table;
      return table;
    } catch (err) {
      if (err instanceof RelayError && err.code === 'HIVE_NOT_FOUND') {
        this.#table = undefined;
        return undefined;
      }
      throw err;
    }
  }

  #noteExisting(table: HiveTable, spec: TableSpec): void {
    if (!hasLogrelayPartitionKeys(table)) {
      this.#log.warn(
        { partitionKeys: partitionKeyNames(table), expected: ['dt', 'hour'] },
        'existing Hive table has other partition keys than dt, hour: partitions cannot be added',
      );
    }
    if (table.sd.location !== spec.location) {
      this.#log.warn(
        { tableLocation: table.sd.location, location: spec.location },
        'existing Hive table has another location than the sink writes to',
      );
    }
  }
}
