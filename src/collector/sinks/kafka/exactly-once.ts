import { createHash } from 'node:crypto';
import { Kafka, type Admin, type Producer } from 'kafkajs';
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
  /** Marks read since this producer fenced its predecessors, by stream. */
  marks: Map<string, number>;
  /** Transactions of one producer run one at a time. */
  queue: Promise<unknown>;
  /** When its initialisation (the fencing of the previous owner) completed; 0 before. */
  initAt: number;
  lastUsed: number;
}

/** How long after a producer's initialisation its first mark read waits, ms (see `#mark`). */
const MARK_SETTLE_MS = 200;
/** Delay between the two reads of a mark, ms. */
const MARK_REREAD_MS = 50;

/** Errors after which a producer's state is unknown or taken over: it is replaced. */
function isFenced(err: unknown): boolean {
  const text = `${(err as { type?: string }).type ?? ''} ${(err as Error).message ?? ''}`;
  return /FENCED|INVALID_PRODUCER_EPOCH|PRODUCER_FENCED|INVALID_TXN_STATE/i.test(text);
}

/**
 * Exactly-once into Kafka (the KIP-618 way): every agent's lines go through a transactional
 * producer of its own, and each transaction carries the records *and* the stream's new
 * high-water mark, committed as the offset of a consumer group named after the stream
 * (`TxnOffsetCommit`): both become visible together or not at all.
 *
 * Taking an agent over starts a producer with the agent's transactional id: the broker aborts
 * whatever the previous collector had open and fences it (its later commits fail), and only
 * then are the marks read — the committed ones — so lines below them are skipped. A collector
 * killed mid-transaction therefore leaves nothing a `read_committed` consumer can see twice.
 */
export class ExactlyOnceWriter {
  readonly #opts: ExactlyOnceOptions;
  readonly #log: Logger;
  readonly #kafka: Kafka;
  readonly #writers = new Map<string, Promise<AgentWriter>>();
  #admin: Admin | undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(opts: ExactlyOnceOptions, log: Logger) {
    this.#opts = opts;
    this.#log = log;
    this.#kafka = new Kafka(kafkaClientConfig(opts));
  }

  /** Connects the admin client and makes sure the marks topic exists. */
  async start(): Promise<void> {
    const admin = this.#kafka.admin();
    await admin.connect();
    this.#admin = admin;
    const topic = this.#opts.exactlyOnce.marksTopic;
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      await admin
        .createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })
        .catch((err: unknown) => {
          if (!/already exists/i.test(String((err as Error).message))) throw err;
        });
    }
    this.#sweeper = setInterval(() => void this.#closeIdle(), 30_000);
    this.#sweeper.unref();
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
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#log.warn(
          { agent: batch.agentId, step: step.name, limitMs },
          'transaction did not finish in time; dropping the producer',
        );
        this.#drop(batch.agentId, writer);
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
    return Promise.race([this.#transact(writer, batch, step), timeout]).finally(() =>
      clearTimeout(timer),
    );
  }

  async #transact(writer: AgentWriter, batch: SinkBatch, step: { name: string }): Promise<number> {
    const { producer } = writer;
    let txn: Awaited<ReturnType<Producer['transaction']>> | undefined;
    try {
      // The first transaction of a producer initialises it: that fences the previous owner.
      step.name = 'begin';
      const first = writer.initAt === 0;
      txn = await producer.transaction();
      if (first) writer.initAt = Date.now();
      step.name = 'read mark';
      const mark = await this.#mark(writer, batch.streamKey);
      const { batch: part, duplicates } = unseenPart(batch, mark);
      if (!part) {
        await txn.commit();
        return duplicates;
      }
      const topic = kafkaTopic(this.#opts.topicPrefix, batch.topic);
      const records = buildRecords(part, this.#opts);
      step.name = 'send';
      for (const request of produceRequests(topic, records, this.#opts)) await txn.send(request);
      step.name = 'send offsets';
      await txn.sendOffsets({
        consumerGroupId: markGroup(this.#opts.clientId, this.#opts.sinkName, batch.streamKey),
        topics: [
          {
            topic: this.#opts.exactlyOnce.marksTopic,
            partitions: [{ partition: 0, offset: String(batch.endOffset) }],
          },
        ],
      });
      step.name = 'commit';
      await txn.commit();
      writer.marks.set(batch.streamKey, batch.endOffset);
      return duplicates;
    } catch (err) {
      // Whether the transaction committed is unknown (or the producer was fenced): start over
      // with a new producer, which aborts anything left open and reads the marks afresh.
      step.name = 'abort';
      this.#drop(batch.agentId, writer);
      // Not awaited: on a fenced producer kafkajs may retry the abort for long, and dropping
      // the producer is what matters (the next one's fencing aborts the transaction anyway).
      void txn?.abort().catch(() => undefined);
      const error = toRelayError(err, `transaction for ${batch.agentId}`);
      if (isFenced(err))
        this.#log.warn(
          { agent: batch.agentId, err: error },
          'fenced by another collector; this agent moved (a new producer takes it back if it returns)',
        );
      throw new RelayError(error.code, error.message, {
        retriable: true,
        cause: err,
        details: error.details,
      });
    }
  }

  /**
   * The committed mark of a stream (consumer-group offset), read once per producer.
   *
   * The producer's initialisation returns only once the previous owner's last transaction is
   * complete, but the group coordinator moves that transaction's offsets from pending to
   * committed in a task of its own, a moment later; OffsetFetch with `require_stable`
   * (KIP-447) would wait for it, and kafkajs does not send it. So the first read waits
   * MARK_SETTLE_MS after the initialisation and, that close to it, takes the larger of two
   * reads (marks only grow). Seen without it: 200 lines written twice in one takeover out of three runs.
   */
  async #mark(writer: AgentWriter, streamKey: string): Promise<number | undefined> {
    const cached = writer.marks.get(streamKey);
    if (cached !== undefined) return cached;
    const settle = writer.initAt + MARK_SETTLE_MS - Date.now();
    if (settle > 0) await new Promise((r) => setTimeout(r, settle));
    let mark = await this.#fetchMark(streamKey);
    // Streams first seen long after the takeover need no second look.
    if (Date.now() - writer.initAt < MARK_SETTLE_MS * 5) {
      await new Promise((r) => setTimeout(r, MARK_REREAD_MS));
      mark = Math.max(mark, await this.#fetchMark(streamKey));
    }
    if (mark < 0) return undefined;
    writer.marks.set(streamKey, mark);
    return mark;
  }

  async #fetchMark(streamKey: string): Promise<number> {
    const admin = this.#admin;
    if (!admin)
      throw new RelayError('SINK_NOT_RUNNING', 'exactly-once writer not started', {
        retriable: true,
      });
    const result = await admin.fetchOffsets({
      groupId: markGroup(this.#opts.clientId, this.#opts.sinkName, streamKey),
      topics: [this.#opts.exactlyOnce.marksTopic],
    });
    return Number(result[0]?.partitions[0]?.offset ?? -1);
  }

  #writer(agentId: string): Promise<AgentWriter> {
    let writer = this.#writers.get(agentId);
    if (!writer) {
      const producer = this.#kafka.producer({
        transactionalId: `${this.#opts.clientId}.${this.#opts.sinkName}.${agentId}`,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: this.#opts.exactlyOnce.transactionTimeoutMs,
      });
      writer = producer.connect().then(() => ({
        producer,
        marks: new Map<string, number>(),
        queue: Promise.resolve(),
        initAt: 0,
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

  #drop(agentId: string, writer: AgentWriter): void {
    const current = this.#writers.get(agentId);
    void current?.then((w) => {
      if (w === writer) this.#writers.delete(agentId);
    });
    void writer.producer.disconnect().catch(() => undefined);
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
 * The consumer group whose committed offset is a stream's mark in this sink. Scoped like the
 * transactional ids (client id + sink name): two relays writing the same stream to one Kafka
 * under different client ids keep separate marks.
 */
export function markGroup(clientId: string, sinkName: string, streamKey: string): string {
  const digest = createHash('sha256').update(streamKey).digest('hex').slice(0, 32);
  return `logrelay.mark.${clientId}.${sinkName}.${digest}`;
}
