/**
 * The wire contract (proto/logrelay/v1/relay.proto) as TypeScript: the generated messages and
 * gRPC service definitions, re-exported so the rest of the code never imports from generated/
 * directly, plus the limits both sides enforce.
 */
export {
  Batch,
  Committed,
  Hello,
  Rejected,
  RelayClient,
  RelayService,
  RetryAfter,
  ShipRequest,
  ShipResponse,
  StreamId,
} from '../generated/logrelay/v1/relay.js';
export type { RelayServer } from '../generated/logrelay/v1/relay.js';
export {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  HealthService,
} from '../generated/grpc/health/v1/health.js';
export type { HealthServer } from '../generated/grpc/health/v1/health.js';

/**
 * Default wire limits. Both sides set gRPC's max message sizes explicitly (grpc-js defaults to
 * 4 MiB receive, unlimited send) so an oversize batch fails with a clear status, not an OOM.
 */
export const wireDefaults = {
  /** Largest `Batch.lines` blob an agent sends, in bytes. */
  maxBatchBytes: 1024 * 1024,
  /** Largest number of lines in one batch. */
  maxBatchLines: 10_000,
  /** Largest gRPC message either side accepts, in bytes (batch plus framing headroom). */
  maxMessageBytes: 8 * 1024 * 1024,
} as const;

/** grpc-js channel options that apply `maxMessageBytes` in both directions. */
export function messageSizeOptions(maxMessageBytes: number = wireDefaults.maxMessageBytes) {
  return {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
  } as const;
}

/**
 * Wire compression an agent may ask for (`ship.compression`): gRPC message compression as
 * grpc-js implements it (zlib at its default level, 6). grpc-js has no zstd, and Node 20's zlib
 * has none either.
 */
export const shipCompressions = ['none', 'gzip', 'deflate'] as const;
export type ShipCompression = (typeof shipCompressions)[number];

/**
 * grpc-js channel options that compress every message the client sends with `compression`.
 * grpc-js sends `grpc-encoding: <algorithm>` with the call and falls back to identity on a
 * channel whose server's `grpc-accept-encoding` lacks it; a grpc-js server accepts identity,
 * deflate and gzip on every call, whatever its options. The size limits
 * (`messageSizeOptions`) apply to the uncompressed message: the sender checks it before
 * compressing, the receiver checks the compressed frame and then the inflated bytes as they
 * come out of zlib, stopping at the limit.
 */
export function compressionOptions(compression: ShipCompression): Record<string, number> {
  // grpc-js's CompressionAlgorithms: 0 identity, 1 deflate, 2 gzip.
  switch (compression) {
    case 'none':
      return {};
    case 'deflate':
      return { 'grpc.default_compression_algorithm': 1 };
    case 'gzip':
      return { 'grpc.default_compression_algorithm': 2 };
  }
}

export {
  FIELD_KEY_PATTERN,
  MAX_BATCH_FIELDS,
  MAX_FIELD_VALUE_BYTES,
  MAX_TAIL_FIELDS,
  NO_FIELDS,
  RESERVED_FIELD_KEYS,
  batchFieldsProblem,
  fieldKeyProblem,
  fieldValueProblem,
  hasFields,
} from './fields.js';
export type { BatchFields } from './fields.js';
