import type { Admin } from 'kafkajs';
import { Kafka } from './kafkajs.js';
import type { KafkaSinkConfig } from './config.js';
import { kafkaClientConfig, toRelayError } from './producer.js';

export type TopicCreatorOptions = Parameters<typeof kafkaClientConfig>[0] & {
  createTopics: NonNullable<KafkaSinkConfig['createTopics']>;
};

/**
 * Creates a sink's missing topics with the configured partitions and replication factor before
 * the first write to each (`createTopics`): a broker's auto-creation would give its own default,
 * usually one partition, which caps every consumer group of the topic at one reader.
 *
 * Each topic is checked once per process; a failed check (Kafka down) is tried again by the
 * next write to the topic.
 */
export class TopicCreator {
  readonly #kafka: Kafka;
  readonly #settings: TopicCreatorOptions['createTopics'];
  readonly #ensured = new Map<string, Promise<void>>();
  #admin: Promise<Admin> | undefined;

  constructor(options: TopicCreatorOptions) {
    this.#kafka = new Kafka(kafkaClientConfig(options));
    this.#settings = options.createTopics;
  }

  /** Resolves once `topic` exists (created here if it was missing). */
  ensure(topic: string): Promise<void> {
    let done = this.#ensured.get(topic);
    if (!done) {
      done = this.#create(topic);
      this.#ensured.set(topic, done);
      done.catch(() => {
        if (this.#ensured.get(topic) === done) this.#ensured.delete(topic);
      });
    }
    return done;
  }

  async stop(): Promise<void> {
    const admin = this.#admin;
    this.#admin = undefined;
    this.#ensured.clear();
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
  }

  async #create(topic: string): Promise<void> {
    try {
      const admin = await this.#connected();
      // Resolves false, without an error, when the topic exists already.
      await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: this.#settings.partitions,
            replicationFactor: this.#settings.replicationFactor,
          },
        ],
        waitForLeaders: true,
      });
    } catch (err) {
      // Another collector may have created it in between.
      if (/already exists/i.test(String((err as Error).message))) return;
      throw toRelayError(err, `creating topic ${topic}`);
    }
  }

  #connected(): Promise<Admin> {
    if (!this.#admin) {
      const admin = this.#kafka.admin();
      const connecting = admin.connect().then(() => admin);
      this.#admin = connecting;
      connecting.catch(() => {
        if (this.#admin === connecting) this.#admin = undefined;
        void admin.disconnect().catch(() => undefined);
      });
    }
    return this.#admin;
  }
}
