import { RelayError } from '../../common/errors/relay-error.js';
import type { Component } from '../../common/lifecycle/component.js';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/logging/logger.js';
import type { BatchFields } from '../../common/wire/index.js';
import type { ZookeeperConfig } from '../../common/zk/zk-config.js';

/**
 * What a sink is given to write: a contiguous run of complete lines of one stream, already
 * validated and deduplicated by the collector (every line here is new to this sink).
 */
export interface SinkBatch {
  /** Stable key of the stream: `<agentId>:<device>:<inode>:<generation>`. */
  readonly streamKey: string;
  readonly agentId: string;
  readonly host: string;
  /** Path of the file as the agent last saw it. */
  readonly path: string;
  /**
   * The path the stream is keyed by in records: the first one the agent recorded for it, the
   * same across rename rotation. Absent: `path`.
   */
  readonly keyPath?: string;
  readonly topic: string;
  /** The lines' bytes, without terminators (zero-copy views into the received message). */
  readonly lines: readonly Buffer[];
  /** Byte offset in the file where each line starts (same length as `lines`). */
  readonly offsets: readonly number[];
  /**
   * Byte offset of the batch's start (the wire's start_offset): before `offsets[0]` when the
   * agent filtered out lines ahead of the first record, and the only position of a batch of
   * zero records that just moves the mark past filtered-out lines. Absent: `offsets[0]`.
   */
  readonly startOffset?: number;
  /** Byte offset just past the last line: the stream's high-water mark once committed. */
  readonly endOffset: number;
  /** When the agent read the lines, in ms since the epoch (informational only). */
  readonly readTimeMs: number;
  /**
   * Key/values the agent attached to every line of the batch (its tail's `fields`), checked by
   * the collector against the wire rules. Absent or empty: none, and sinks write exactly what
   * they wrote before fields existed.
   */
  readonly fields?: BatchFields;
}

/**
 * A destination. `write` resolves only when every line of the batch is durably committed
 * (Kafka: acked with acks=all; HDFS: the append returned; file: written and fsynced), so the
 * collector can acknowledge the batch to the agent.
 *
 * A sink never drops data: when it cannot commit it rejects with a RelayError; `retriable: true`
 * (an outage, backpressure) makes the collector answer retry-after, `retriable: false` means the
 * batch can never be written (the collector answers rejected).
 *
 * The collector calls `write` for one stream at a time, in offset order: a sink may rely on
 * that order per stream, and may be called concurrently for different streams.
 */
export interface Sink extends Component {
  /** The sink's name from the configuration (e.g. `kafka-main`). */
  readonly name: string;
  /**
   * Resolves once committed; a sink that keeps marks of its own (exactly-once) may say how many
   * of the lines it skipped because it had committed them before.
   */
  write(batch: SinkBatch): Promise<void | SinkWriteResult>;
}

/** What a sink may report about a committed write. */
export interface SinkWriteResult {
  /** Lines of the batch not written because the sink's own marks had them (already delivered). */
  readonly skippedLines: number;
}

/** What every sink is built with besides its own config. */
export interface SinkContext {
  /** Namespaced logger for the sink (`collector.sink.<name>`). */
  readonly log: Logger;
  /** The process's metrics registry; sinks register their own metrics on it. */
  readonly registry: Registry;
  /** The collector's id, e.g. for HDFS file names (`{collector}`). */
  readonly collectorId: string;
  /** The collector's `cluster.zookeeper`, for sinks that keep marks there (HDFS). */
  readonly zookeeper?: ZookeeperConfig;
  /** Key path of the sink's entry (`sinks[2]`), for errors about files it names. Default: sinks[name]. */
  readonly configPath?: string;
  /** Where the configuration came from (its file), for the same errors. */
  readonly configSource?: string;
}

/** Where a sink's entry is (key path and file), for errors about the files it names. */
export interface SinkConfigRef {
  readonly path: string;
  readonly source: string;
}

export function sinkConfigRef(ctx: SinkContext, name: string): SinkConfigRef {
  return {
    path: ctx.configPath ?? `sinks[${name}]`,
    source: ctx.configSource ?? 'the collector configuration',
  };
}

/**
 * Thrown by a sink whose write committed a prefix of the batch and then failed (a Kafka batch
 * sent as several requests, one of which failed). The collector records the prefix as
 * committed, so the agent's resend writes only the rest instead of duplicating the prefix.
 */
export class PartialWriteError extends RelayError {
  /** File offset just past the last line committed before the failure. */
  readonly committedEndOffset: number;

  constructor(committedEndOffset: number, cause: RelayError) {
    super(cause.code, `${cause.message} (lines before offset ${committedEndOffset} committed)`, {
      retriable: cause.retriable,
      cause,
    });
    this.committedEndOffset = committedEndOffset;
  }
}
