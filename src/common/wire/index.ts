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
