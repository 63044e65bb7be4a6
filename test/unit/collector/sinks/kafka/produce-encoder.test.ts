import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { crc32c } from '../../../../../src/collector/sinks/kafka/crc32c.js';
import {
  encodeProduceBody,
  encodeRecords,
  installProduceEncoder,
  type EncodableMessage,
  type ProduceArgs,
} from '../../../../../src/collector/sinks/kafka/produce-encoder.js';

const require = createRequire(import.meta.url);

interface KafkajsRequest {
  encode: () => Promise<{ buffer: Buffer }>;
}
type Builder = (args: ProduceArgs) => { request: KafkajsRequest };
// kafkajs's own request builders, loaded directly (not through the patched index).
const kafkajsV3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (
  args: ProduceArgs,
) => KafkajsRequest;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: number): { value: bigint } };
const crc32cKafkajs = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (
  b: Buffer,
) => number;

async function kafkajsBody(args: ProduceArgs): Promise<Buffer> {
  return (await kafkajsV3(args).encode()).buffer;
}

function messages(
  n: number,
  key: string | Buffer | null = 'agent-1:/var/log/app.log',
): EncodableMessage[] {
  return Array.from({ length: n }, (_, i) => ({
    key,
    value: Buffer.from(`line ${i} ${'x'.repeat(i % 300)} ünïcode`),
  }));
}

describe('produce encoder', () => {
  afterEach(() => vi.restoreAllMocks());

  it('computes CRC-32C as kafkajs does, for every length and alignment', () => {
    const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff));
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= bytes.length; end += 7) {
        expect(crc32c(bytes, start, end)).toBe(crc32cKafkajs(bytes.subarray(start, end)));
      }
    }
    // The standard check value of CRC-32C.
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('encodes byte for byte what kafkajs encodes: idempotent, transactional, keys, nulls, headers', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_765_000_000_123);
    const cases: ProduceArgs[] = [
      {
        acks: -1,
        timeout: 30000,
        topicData: [
          {
            topic: 'logs',
            partitions: [{ partition: 3, firstSequence: 0, messages: messages(1000) }],
          },
        ],
      },
      {
        acks: -1,
        timeout: 5000,
        transactionalId: 'logrelay-c1-sink-agent',
        producerId: Long.fromValue(123456789012) as { value: bigint },
        producerEpoch: 7,
        topicData: [
          {
            topic: 'a',
            partitions: [
              { partition: 0, firstSequence: 2_000_000_000, messages: messages(3) },
              { partition: 1, firstSequence: 5, messages: messages(2, null) },
            ],
          },
          {
            topic: 'bé',
            partitions: [
              { partition: 0, firstSequence: 0, messages: messages(1, Buffer.from([0, 1, 255])) },
            ],
          },
        ],
      },
      {
        // Idempotent: kafkajs passes the producer id as the decimal string it decoded.
        acks: -1,
        timeout: 30000,
        producerId: '9007199254740993',
        producerEpoch: 1,
        topicData: [
          {
            topic: 'i',
            partitions: [{ partition: 2, firstSequence: 1000, messages: messages(5) }],
          },
        ],
      },
      {
        acks: -1,
        timeout: 30000,
        topicData: [
          {
            topic: 'h',
            partitions: [
              {
                partition: 0,
                messages: [
                  {
                    key: 'k',
                    value: Buffer.from('v'),
                    headers: { host: 'h1', path: Buffer.from('/p'), offset: '42' },
                  },
                  { key: 'k', value: null },
                  { key: 'k2', value: 'a string value' },
                  { key: 'k2', value: Buffer.alloc(20_000, 0x61) },
                ],
              },
            ],
          },
        ],
      },
    ];
    for (const args of cases) {
      expect((await encodeProduceBody(args)).equals(await kafkajsBody(args))).toBe(true);
    }
  });

  it('compresses the records section with gzip, leaving the batch readable', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_765_000_000_123);
    const msgs = messages(500);
    const body = await encodeProduceBody({
      acks: -1,
      timeout: 30000,
      compression: 1,
      topicData: [{ topic: 't', partitions: [{ partition: 0, messages: msgs }] }],
    });
    // transactional id (2) + acks (2) + timeout (4) + topics (4) + name (2+1) + partitions (4)
    // + partition (4) + batch size (4)
    const batch = body.subarray(27);
    expect(batch.readInt32BE(8)).toBe(batch.length - 12);
    expect(batch.readInt16BE(21) & 0x07).toBe(1);
    expect(batch.readUInt32BE(17)).toBe(crc32c(batch, 21));
    expect(batch.readInt32BE(57)).toBe(500);
    expect(gunzipSync(batch.subarray(61)).equals(encodeRecords(msgs))).toBe(true);
  });

  it('compresses with snappy (raw blocks) and lz4 (frames), the codec named in the attributes', async () => {
    const snappy = require('snappy') as { uncompressSync(b: Buffer): Buffer };
    const lz4 = require('lz4-napi') as { decompressFrameSync(b: Buffer): Buffer };
    const msgs = messages(300);
    for (const [compression, decode] of [
      [2, (b: Buffer) => snappy.uncompressSync(b)],
      [3, (b: Buffer) => lz4.decompressFrameSync(b)],
    ] as const) {
      const body = await encodeProduceBody({
        acks: -1,
        timeout: 30000,
        compression,
        topicData: [{ topic: 't', partitions: [{ partition: 0, messages: msgs }] }],
      });
      const batch = body.subarray(27);
      expect(batch.readInt16BE(21) & 0x07).toBe(compression);
      expect(batch.readUInt32BE(17)).toBe(crc32c(batch, 21));
      expect(Buffer.from(decode(batch.subarray(61))).equals(encodeRecords(msgs))).toBe(true);
    }
  });

  it('replaces the Produce builder kafkajs looks up, keeping its response decoder', async () => {
    installProduceEncoder();
    installProduceEncoder(); // idempotent
    const definition = require('kafkajs/src/protocol/requests/produce/index.js') as {
      protocol: (o: { version: number }) => Builder;
    };
    vi.spyOn(Date, 'now').mockReturnValue(1_765_000_000_123);
    const args: ProduceArgs = {
      acks: -1,
      timeout: 30000,
      topicData: [{ topic: 'logs', partitions: [{ partition: 0, messages: messages(10) }] }],
    };
    for (const version of [3, 7]) {
      const built = definition.protocol({ version })(args) as {
        request: KafkajsRequest & { apiVersion: number };
        response: { decode: unknown; parse: unknown };
      };
      expect(built.request.apiVersion).toBe(version);
      expect(typeof built.response.decode).toBe('function');
      expect((await built.request.encode()).buffer.equals(await kafkajsBody(args))).toBe(true);
    }
  });
});
