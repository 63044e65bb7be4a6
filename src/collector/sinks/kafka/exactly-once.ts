import { createHash } from 'node:crypto';
import type { Admin, Producer } from 'kafkajs';
import { Kafka } from './kafkajs.js';
import { RelayError } from '../../../common/errors/relay-error.js';
import type { Logger } from '../../../common/logging/logger.js';
import { unseenPart } from '../../dedup/high-water-marks.js';
import type { SinkBatch } from '../sink.js';
import type { KafkaSinkConfig } from './config.js';
import {
  kafkaClientConfig,
  produceRequests,
  toRelayError,
  type KafkajsProducerOptions,
} from './producer.js';
import { buildRecords, kafkaTopic } from './records.js';
import { AgentMarks } from './agent-marks.js';
import { StableOffsetFetcher } from './stable-offset-fetch.js';
import { cachingDefaultPartitioner } from './partitioner.js';

export type ExactlyOnceOptions = Omit<KafkajsProducerOptions, 'ssl'> & {
  ssl: KafkajsProducerOptions['ssl'];
  /** The sink's name: part of transactional ids and mark groups. */
  sinkName: string;
  exactlyOnce: NonNullable<KafkaSinkConfig['exactlyOnce']>;
  format: KafkaSinkConfig['format'];
  headers: KafkaSinkConfig['headers'];
  topicPrefix: string;
};

interface AgentWriter {
  producer: Producer;
  /** The agent's marks, read once this producer has fenced its predecessors. */
  marks: AgentMarks | undefined;
  /** Transactions of one producer run one at a time. */
  queue: Promise<unknown>;
  /** Replaced after a failure: batches still queued on it fail fast (retriable). */
  dead: boolean;
  lastUsed: number;
}

/** Longest wait for a dropped producer's abort before it is disconnected anyway, ms. */
const DROP_GRACE_MS = 10_000;

/** First retry delay of a transactional producer's requests, ms (see `#writer`). */
const TXN_RETRY_INITIAL_MS = 20;

/** Errors after which a producer's state is unknown or taken over: it is replaced. */
function isFenced(err: unknown): boolean {
  const text = `${(err as { type?: string }).type ?? ''} ${(err as Error).message ?? ''}`;
  return /FENCED|INVALID_PRODUCER_EPOCH|PRODUCER_FENCED|INVALID_TXN_STATE/i.test(text);
}

/**
 * Exactly-once into Kafka (the KIP-618 way): every agent's lines go through a transactional
 * producer of its own, and each transaction carries the records *and* the stream's new
 * high-water mark, committed as consumer-group offset metadata (`TxnOffsetCommit`, see
 * AgentMarks): both become visible together or not at all.
 *
 * Taking an agent over starts a producer with the agent's transactional id: the broker completes
 * or aborts whatever the previous collector had open and fences it (its later commits fail).
 * Only then are the marks read, with `require_stable` (StableOffsetFetcher): the read waits
 * while any offset of the previous owner's last transaction is still pending, so it sees exactly
 * what was committed, and lines below the marks are skipped. A collector killed
 * mid-transaction therefore leaves nothing a `read_committed` consumer can see twice.
 */
export class ExactlyOnceWriter {
  readonly #opts: ExactlyOnceOptions;
  readonly #log: Logger;
  readonly #kafka: Kafka;
  readonly #writers = new Map<string, Promise<AgentWriter>>();
  #admin: Admin | undefined;
  #offsets: StableOffsetFetcher | undefined;
  /** Partitions of the marks topic, as the topic has them (the buckets of AgentMarks). */
  #markPartitions = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(opts: ExactlyOnceOptions, log: Logger) {
    this.#opts = opts;
    this.#log = log;
    this.#kafka = new Kafka(kafkaClientConfig(opts));
  }

  /** Connects the admin client and makes sure the marks topic exists. */
  async start(): Promise<void> {
    const admin = this.#kafka.admin();
    try {
      await this.#prepare(admin);
    } catch (err) {
      // A failed start is tried again by the next write, with a new admin client.
      await admin.disconnect().catch(() => undefined);
      throw err;
    }
    this.#admin = admin;
    this.#offsets = new StableOffsetFetcher(this.#kafka);
    this.#sweeper = setInterval(() => void this.#closeIdle(), 30_000);
    this.#sweeper.unref();
  }

  /** Connects the admin client, creates the marks topic if missing and reads its partitions. */
  async #prepare(admin: Admin): Promise<void> {
    await admin.connect();
    const topic = this.#opts.exactlyOnce.marksTopic;
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      await admin
        .createTopics({
          topics: [{ topic, numPartitions: this.#opts.exactlyOnce.markPartitions }],
          waitForLeaders: true,
        })
        .catch((err: unknown) => {
          if (!/already exists/i.test(String((err as Error).message))) throw err;
        });
    }
    // The topic's own partition count decides the buckets, so every collector agrees.
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    this.#markPartitions = metadata.topics[0]?.partitions.length ?? 0;
    if (this.#markPartitions < 1)
      throw new RelayError('SINK_UNAVAILABLE', `marks topic ${topic} has no partitions yet`, {
        retriable: true,
      });
  }

  async stop(): Promise<void> {
    clearInterval(this.#sweeper);
    const writers = [...this.#writers.values()];
    this.#writers.clear();
    await Promise.all(
      writers.map((w) =>
        w.then(
          async (writer) => {
            await writer.queue.catch(() => undefined);
            await writer.producer.disconnect().catch(() => undefined);
          },
          () => undefined,
        ),
      ),
    );
    await this.#admin?.disconnect().catch(() => undefined);
    this.#admin = undefined;
    await this.#offsets?.disconnect();
    this.#offsets = undefined;
  }

  /** Writes the batch's unseen lines in one transaction; resolves to the lines skipped as seen. */
  async write(batch: SinkBatch): Promise<number> {
    const writer = await this.#writer(batch.agentId);
    const run = writer.queue.then(() => this.#bounded(writer, batch));
    writer.queue = run.catch(() => undefined);
    writer.lastUsed = Date.now();
    return run;
  }

  /**
   * One transaction, bounded in time: a client call that never answers must not hold the
   * agent's queue (and its stream) for ever. Past the limit the producer is dropped — its
   * transaction, if it ever completes, is aborted by the next producer's fencing.
   */
  #bounded(writer: AgentWriter, batch: SinkBatch): Promise<number> {
    const limitMs = this.#opts.requestTimeoutMs + this.#opts.exactlyOnce.transactionTimeoutMs;
    const step = { name: 'queued' };
    let timer: NodeJS.Timeout | undefined;
    const work = this.#transact(writer, batch, step);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#log.warn(
          { agent: batch.agentId, step: step.name, limitMs },
          'transaction did not finish in time; dropping the producer',
        );
        this.#drop(batch.agentId, writer, work);
        reject(
          new RelayError(
            'SINK_UNAVAILABLE',
            `transaction stuck at ${step.name} for ${limitMs} ms`,
            {
              retriable: true,
            },
          ),
        );
      }, limitMs);
      timer.unref();
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  async #transact(writer: AgentWriter, batch: SinkBatch, step: { name: string }): Promise<number> {
    const { producer } = writer;
    if (writer.dead)
      throw new RelayError('SINK_UNAVAILABLE', `producer for ${batch.agentId} was replaced`, {
        retriable: true,
      });
    let txn: Awaited<ReturnType<Producer['transaction']>> | undefined;
    try {
      // The first transaction of a producer initialises it: that fences the previous owner.
      step.name = 'begin';
      txn = await producer.transaction();
      step.name = 'read marks';
      writer.marks ??= await this.#readMarks(batch.agentId);
      const marks = writer.marks;
      const { batch: part, duplicates } = unseenPart(batch, marks.get(batch.streamKey));
      if (!part) {
        await txn.commit();
        return duplicates;
      }
      const topic = kafkaTopic(this.#opts.topicPrefix, batch.topic);
      const records = buildRecords(part, this.#opts);
      step.name = 'send';
      for (const request of produceRequests(topic, records, this.#opts)) await txn.send(request);
      step.name = 'send offsets';
      // Changes the cached marks before the commit: if the commit fails, the writer (and its
      // cache) is dropped and the next one reads the marks from Kafka again.
      const evictedBefore = marks.evicted;
      const { partition, metadata } = marks.set(batch.streamKey, batch.endOffset);
      if (marks.evicted > evictedBefore)
        this.#log.debug(
          { agent: batch.agentId, evicted: marks.evicted - evictedBefore },
          'marks of streams not written for the longest dropped to keep the bucket in size',
        );
      await txn.sendOffsets({
        consumerGroupId: markGroup(this.#opts.clientId, this.#opts.sinkName, batch.agentId),
        topics: [
          {
            topic: this.#opts.exactlyOnce.marksTopic,
            // kafkajs passes `metadata` through although its type does not list it.
            partitions: [
              { partition, offset: String(batch.endOffset), metadata } as {
                partition: number;
                offset: string;
              },
            ],
          },
        ],
      });
      step.name = 'commit';
      await txn.commit();
      return duplicates;
    } catch (err) {
      // Whether the transaction committed is unknown (or the producer was fenced): start over
      // with a new producer, which aborts anything left open and reads the marks afresh.
      step.name = 'abort';
      // The abort is not awaited here: on a fenced producer kafkajs may retry it for long, and
      // the next producer's fencing aborts the transaction anyway. The producer is disconnected
      // once it settled (disconnecting first would let kafkajs reconnect it for the abort).
      const abort = txn ? txn.abort().catch(() => undefined) : Promise.resolve();
      this.#drop(batch.agentId, writer, abort);
      const error = toRelayError(err, `transaction for ${batch.agentId}`);
      if (isFenced(err))
        this.#log.warn(
          { agent: batch.agentId, err: error },
          'fenced by another collector; this agent moved (a new producer takes it back if it returns)',
        );
      // Nothing of an aborted transaction is visible: a refused content (a record too large, an
      // illegal topic) stays refused, everything else is tried again.
      throw new RelayError(error.code, error.message, {
        retriable: error.code === 'SINK_REJECTED' ? error.retriable : true,
        cause: err,
        details: error.details,
      });
    }
  }

  /**
   * Every mark of the agent, read once per producer, after its initialisation fenced the
   * previous owner: with `require_stable`, so offsets of a transaction still completing are
   * waited for rather than missed.
   */
  async #readMarks(agentId: string): Promise<AgentMarks> {
    const offsets = this.#offsets;
    if (!offsets || this.#markPartitions < 1)
      throw new RelayError('SINK_NOT_RUNNING', 'exactly-once writer not started', {
        retriable: true,
      });
    const marks = new AgentMarks(this.#markPartitions);
    const partitions = Array.from({ length: this.#markPartitions }, (_, i) => i);
    marks.load(
      await offsets.fetch(
        markGroup(this.#opts.clientId, this.#opts.sinkName, agentId),
        this.#opts.exactlyOnce.marksTopic,
        partitions,
        this.#opts.requestTimeoutMs,
      ),
    );
    return marks;
  }

  #writer(agentId: string): Promise<AgentWriter> {
    let writer = this.#writers.get(agentId);
    if (!writer) {
      const producer = this.#kafka.producer({
        transactionalId: `${this.#opts.clientId}.${this.#opts.sinkName}.${agentId}`,
        createPartitioner: cachingDefaultPartitioner,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: this.#opts.exactlyOnce.transactionTimeoutMs,
        // The next transaction's first request meets CONCURRENT_TRANSACTIONS while the broker
        // completes the previous commit (a few ms); kafkajs's default 300 ms first backoff
        // would cost that much per batch. Retries double from 20 ms up to the same total.
        retry: {
          initialRetryTime: TXN_RETRY_INITIAL_MS,
          retries: this.#opts.retries + 4,
        },
      });
      writer = producer.connect().then(() => ({
        producer,
        marks: undefined,
        queue: Promise.resolve(),
        dead: false,
        lastUsed: Date.now(),
      }));
      const pending = writer;
      pending.catch(() => {
        if (this.#writers.get(agentId) === pending) this.#writers.delete(agentId);
        void producer.disconnect().catch(() => undefined);
      });
      this.#writers.set(agentId, writer);
    }
    return writer;
  }

  /**
   * Replaces an agent's writer: the next batch gets a new producer (which fences this one and
   * reads the marks again). This one is disconnected once `settled` (its abort, or the
   * transaction that outlived its time limit) has finished, or after DROP_GRACE_MS.
   */
  #drop(agentId: string, writer: AgentWriter, settled: Promise<unknown>): void {
    writer.dead = true;
    writer.marks = undefined;
    const current = this.#writers.get(agentId);
    void current?.then((w) => {
      if (w === writer) this.#writers.delete(agentId);
    });
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise((resolve) => {
      timer = setTimeout(resolve, DROP_GRACE_MS);
      timer.unref();
    });
    void Promise.race([settled.catch(() => undefined), grace]).then(() => {
      clearTimeout(timer);
      return writer.producer.disconnect().catch(() => undefined);
    });
  }

  async #closeIdle(): Promise<void> {
    const cutoff = Date.now() - this.#opts.exactlyOnce.idleProducerMs;
    for (const [agentId, pending] of this.#writers) {
      const writer = await pending.catch(() => undefined);
      if (writer && writer.lastUsed < cutoff && this.#writers.get(agentId) === pending) {
        this.#writers.delete(agentId);
        await writer.queue.catch(() => undefined);
        await writer.producer.disconnect().catch(() => undefined);
      }
    }
  }
}

/**
 * The consumer group whose committed offsets hold an agent's marks in this sink (see
 * AgentMarks): one per agent, so a fleet has as many mark groups as agents. Scoped like the
 * transactional ids (client id + sink name): two relays writing the same agent to one Kafka
 * under different client ids keep separate marks.
 */
export function markGroup(clientId: string, sinkName: string, agentId: string): string {
  const digest = createHash('sha256').update(agentId).digest('hex').slice(0, 32);
  return `logrelay.marks.${clientId}.${sinkName}.${digest}`;
}
