/**
 * Record batch compression, as Kafka's record batch attributes number the codecs. The produce
 * encoder compresses a batch's records section itself (kafkajs has only gzip built in):
 *
 * - gzip: Node's zlib;
 * - snappy: raw snappy blocks (`snappy`, napi-rs; its binary comes as an npm package), as
 *   librdkafka writes them; Java's consumer and librdkafka read both these and xerial frames;
 * - lz4: the LZ4 frame format Kafka uses since message format v1 (`lz4-napi`, likewise);
 * - zstd: Node's zlib, which has it from Node 22.15; on older runtimes the setting is refused
 *   when the sink starts, never at the first write.
 */
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { RelayError } from '../../../common/errors/relay-error.js';

export const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** The codec number of a compression in a record batch's attributes (and kafkajs's types). */
export const CODEC_IDS: Readonly<Record<Compression, number>> = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
};

type Compress = (records: Buffer) => Promise<Buffer>;

const require = createRequire(import.meta.url);
const gzip = promisify(zlib.gzip);

/** zlib's zstd, when this runtime has it (Node ≥ 22.15). */
function zstdCompress(): Compress | undefined {
  const zstd = (zlib as unknown as { zstdCompress?: typeof zlib.gzip }).zstdCompress;
  return zstd ? (promisify(zstd) as Compress) : undefined;
}

const loaded = new Map<number, Compress>();

function load(id: number): Compress {
  switch (id) {
    case CODEC_IDS.gzip:
      return (records) => gzip(records);
    case CODEC_IDS.snappy: {
      const snappy = require('snappy') as { compress(b: Buffer): Promise<Buffer> };
      return (records) => snappy.compress(records);
    }
    case CODEC_IDS.lz4: {
      const lz4 = require('lz4-napi') as { compressFrame(b: Buffer): Promise<Buffer> };
      return (records) => lz4.compressFrame(records);
    }
    case CODEC_IDS.zstd: {
      const zstd = zstdCompress();
      if (!zstd) {
        // The configuration refuses zstd on such a runtime; this is only a last guard.
        throw new RelayError('CONFIG_INVALID', `compression: ${compressionUnavailable('zstd')}`, {
          details: { key: 'compression' },
        });
      }
      return zstd;
    }
    default:
      throw new RelayError('CONFIG_INVALID', `unknown Kafka compression codec ${id}`);
  }
}

/**
 * The compressor of a codec number (not `none`). Loads the codec's module the first time, so
 * a sink that never compresses never loads a native module.
 */
export function compressorFor(id: number): Compress {
  let compress = loaded.get(id);
  if (!compress) {
    compress = load(id);
    loaded.set(id, compress);
  }
  return compress;
}

/**
 * Why this runtime cannot compress with `compression`, or undefined when it can: checked with
 * the configuration, so a missing codec is refused at start under its key, not at every write.
 */
export function compressionUnavailable(compression: Compression): string | undefined {
  if (compression === 'zstd' && !zstdCompress()) {
    return `zstd needs Node.js 22.15 or newer (this is ${process.version}); use gzip, snappy or lz4`;
  }
  return undefined;
}
