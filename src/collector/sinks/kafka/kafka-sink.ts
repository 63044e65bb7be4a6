import type { Counter, Histogram } from 'prom-client';
import { sharedCounter, sharedHistogram } from '../../../common/metrics/shared-metrics.js';
import { Component } from '../../../common/lifecycle/component.js';
import { childLogger, type Logger } from '../../../common/logging/logger.js';
import { loadServiceTls, type LoadedServiceTls } from '../../../common/security/index.js';
import { InFlightWrites, sinkNotRunning } from '../in-flight.js';
import {
  PartialWriteError,
  sinkConfigRef,
  type Sink,
  type SinkBatch,
  type SinkConfigRef,
  type SinkContext,
  type SinkWriteResult,
} from '../sink.js';
import type { KafkaSinkConfig } from './config.js';
import {
  KafkajsProducer,
  PartialSendError,
  toRelayError,
  type RecordProducer,
} from './producer.js';
import { ExactlyOnceWriter } from './exactly-once.js';
import { TopicCreator } from './topic-creator.js';
import { buildRecords, kafkaTopic } from './records.js';

/** Builds the client; replaced in tests, and the seam for swapping kafkajs. */
export type RecordProducerFactory = (
  config: KafkaSinkConfig,
  log: Logger,
  ssl: boolean | LoadedServiceTls,
  onClientError?: (namespace: string) => void,
) => RecordProducer;

export const createKafkajsProducer: RecordProducerFactory = (config, log, ssl, onClientError) =>
  new KafkajsProducer({ ...config, log, ssl, onClientError });

/**
 * Writes each line of a batch as one Kafka record (DESIGN.md "Records in the sinks") and
 * resolves only when the broker acknowledged all of them with acks=all.
 *
 * Ordering: the collector writes one stream at a time, and every record of a stream has the same
 * key, hence the same partition; the producer sends a call's requests in order. With the default
 * idempotent producer a stream's lines therefore land in order and once per producer session,
 * retries included. Across a failed write and the collector's retry of it, a line can appear
 * twice (the failed attempt may have landed); exactly-once needs the transactional path.
 */
export class KafkaSink extends Component implements Sink {
  readonly config: Readonly<KafkaSinkConfig>;
  readonly #log: Logger;
  readonly #configRef: SinkConfigRef;
  readonly #deduplicated: Counter.Internal;
  /** The transactional path, when `exactlyOnce` is configured. */
  #eos: ExactlyOnceWriter | undefined;
  #eosStarted: Promise<void> | undefined;
  readonly #createProducer: RecordProducerFactory;
  #producer: RecordProducer | undefined;
  /** Creates missing topics first, when `createTopics` is configured. */
  #topics: TopicCreator | undefined;
  /** Writes not yet settled, so that stop can wait for them (each already has a catch). */
  readonly #inflight = new InFlightWrites();

  readonly #records: Counter.Internal;
  readonly #bytes: Counter.Internal;
  readonly #errors: Counter<'sink' | 'code'>;
  /** Errors the Kafka client reported on its way (retried, logged at debug), by namespace. */
  readonly #onClientError: (namespace: string) => void;
  readonly #writeSeconds: Histogram.Internal<'sink'>;

  constructor(
    config: Readonly<KafkaSinkConfig>,
    ctx: SinkContext,
    createProducer: RecordProducerFactory = createKafkajsProducer,
  ) {
    super(config.name);
    this.config = config;
    this.#log = ctx.log;
    this.#createProducer = createProducer;
    this.#configRef = sinkConfigRef(ctx, config.name);
    this.#deduplicated = sharedCounter(
      ctx.registry,
      'logrelay_sink_deduplicated_lines_total',
      'Lines a sink skipped because its own committed marks had them (exactly-once takeover).',
      ['sink'],
    ).labels({ sink: config.name });
    const sink = { sink: config.name };
    this.#records = sharedCounter(
      ctx.registry,
      'logrelay_sink_records_total',
      'Records (lines) a sink committed.',
      ['sink'],
    ).labels(sink);
    this.#bytes = sharedCounter(
      ctx.registry,
      'logrelay_sink_bytes_total',
      'Line bytes (without terminators, before any encoding) a sink committed.',
      ['sink'],
    ).labels(sink);
    // Series exist from the start, so rate() over them works from the first scrape.
    this.#records.inc(0);
    this.#bytes.inc(0);
    this.#errors = sharedCounter(
      ctx.registry,
      'logrelay_sink_errors_total',
      'Failed sink writes by RelayError code.',
      ['sink', 'code'],
    );
    const clientErrors = sharedCounter(
      ctx.registry,
      'logrelay_sink_kafka_client_errors_total',
      'Errors the Kafka client reported and retried (logged at debug), by sink and client namespace.',
      ['sink', 'namespace'],
    );
    this.#onClientError = (namespace) => clientErrors.inc({ sink: config.name, namespace });
    this.#writeSeconds = sharedHistogram(
      ctx.registry,
      'logrelay_sink_write_seconds',
      'Time from write to commit of a batch that a sink committed.',
      ['sink'],
      /* From a quick local ack (~ms) to a request timeout with retries (tens of seconds). */
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    ).labels(sink);
  }

  protected async doStart(): Promise<void> {
    const ssl =
      typeof this.config.ssl === 'boolean'
        ? this.config.ssl
        : await loadServiceTls(
            this.config.ssl,
            `${this.#configRef.path}.ssl`,
            this.#configRef.source,
          );
    const createTopics = this.config.createTopics;
    this.#topics = createTopics
      ? new TopicCreator({
          ...this.config,
          createTopics,
          ssl,
          log: childLogger(this.#log, 'kafkajs'),
          onClientError: this.#onClientError,
        })
      : undefined;
    const eos = this.config.exactlyOnce;
    if (eos) {
      this.#eos = new ExactlyOnceWriter(
        {
          ...this.config,
          ssl,
          sinkName: this.name,
          exactlyOnce: eos,
          log: childLogger(this.#log, 'kafkajs'),
          onClientError: this.#onClientError,
        },
        this.#log,
      );
      this.#eosStarted = undefined;
      // Like the plain producer, a Kafka outage at start is not fatal: the first write retries.
      await this.#startEos().catch((err: unknown) =>
        this.#log.warn({ err }, 'Kafka not reachable yet; writes will retry connecting'),
      );
    }
    const producer = this.#createProducer(
      this.config,
      childLogger(this.#log, 'kafkajs'),
      ssl,
      this.#onClientError,
    );
    this.#producer = producer;
    // Kafka being down is an outage like any other, not a reason to refuse to start: writes
    // fail retriable meanwhile, and the first one after it comes back connects.
    // (With exactly-once the plain producer is never used: it is not connected.)
    if (!eos)
      producer.connect().catch((err: unknown) => {
        this.#log.warn({ err }, 'Kafka not reachable yet; writes will retry connecting');
      });
  }

  protected async doStop(): Promise<void> {
    await this.#inflight.drain();
    const producer = this.#producer;
    this.#producer = undefined;
    await producer?.disconnect();
    const eos = this.#eos;
    this.#eos = undefined;
    await eos?.stop();
    const topics = this.#topics;
    this.#topics = undefined;
    await topics?.stop();
  }

  /** Starts the exactly-once writer once; a failed start is tried again by the next write. */
  #startEos(): Promise<void> {
    const eos = this.#eos;
    if (!eos) return Promise.resolve();
    if (!this.#eosStarted) {
      const started = eos.start();
      this.#eosStarted = started;
      started.catch(() => {
        if (this.#eosStarted === started) this.#eosStarted = undefined;
      });
    }
    return this.#eosStarted;
  }

  write(batch: SinkBatch): Promise<SinkWriteResult> {
    const producer = this.#producer;
    if (!this.running || !producer) {
      this.#errors.inc({ sink: this.name, code: 'SINK_NOT_RUNNING' });
      return Promise.reject(sinkNotRunning('Kafka', this.name, this.state));
    }
    if (batch.lines.length === 0) return Promise.resolve({ skippedLines: 0 });
    return this.#inflight.track(this.#write(producer, batch));
  }

  async #write(producer: RecordProducer, batch: SinkBatch): Promise<SinkWriteResult> {
    const endTimer = this.#writeSeconds.startTimer();
    try {
      let written = batch.lines.length;
      await this.#topics?.ensure(kafkaTopic(this.config.topicPrefix, batch.topic));
      if (this.#eos) {
        await this.#startEos();
        const skipped = await this.#eos.write(batch);
        if (skipped > 0) this.#deduplicated.inc(skipped);
        written -= skipped;
      } else {
        const topic = kafkaTopic(this.config.topicPrefix, batch.topic);
        await producer.send(topic, buildRecords(batch, this.config));
      }
      endTimer();
      this.#records.inc(written);
      let bytes = 0;
      for (const line of batch.lines) bytes += line.length;
      this.#bytes.inc(bytes);
      return { skippedLines: batch.lines.length - written };
    } catch (err) {
      // kafkajs errors (a connection refused, retries exhausted) are outages, never the batch's
      // fault: toRelayError keeps them retriable.
      let error = toRelayError(err, `Kafka sink ${this.name}`);
      // One record per line, in order: the records acknowledged are the batch's first lines.
      if (err instanceof PartialSendError && err.sentRecords < batch.offsets.length) {
        error = new PartialWriteError(batch.offsets[err.sentRecords] as number, error);
      }
      this.#errors.inc({ sink: this.name, code: error.code });
      this.#log.warn(
        {
          err: error,
          topic: batch.topic,
          streamKey: batch.streamKey,
          lines: batch.lines.length,
          retriable: error.retriable,
        },
        'Kafka write failed',
      );
      throw error;
    }
  }
}
