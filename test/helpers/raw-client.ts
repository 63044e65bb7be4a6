import * as grpc from '@grpc/grpc-js';
import type { HealthCheckResponse_ServingStatus } from '../../src/common/wire/index.js';
import {
  HealthClient,
  RelayClient,
  type Batch,
  type ShipRequest,
  type ShipResponse,
} from '../../src/common/wire/index.js';

/**
 * A bare `Relay.Ship` stream to a collector, without the agent's shipper: for tests that send
 * batches the agent would never send (oversize, inconsistent) and read the answers one by one.
 */
export class RawShip {
  readonly client: RelayClient;
  readonly call: grpc.ClientDuplexStream<ShipRequest, ShipResponse>;
  readonly answers = new Map<number, ShipResponse>();
  /** Resolves with the stream's final status: OK when it ended, the error otherwise. */
  readonly status: Promise<grpc.StatusObject>;
  readonly #waiters = new Map<number, (r: ShipResponse) => void>();

  constructor(
    address: string,
    options: grpc.ChannelOptions = {},
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {
    this.client = new RelayClient(address, credentials, options);
    this.call = this.client.ship();
    this.call.on('data', (r: ShipResponse) => {
      const seq = Number(r.seq);
      this.answers.set(seq, r);
      this.#waiters.get(seq)?.(r);
      this.#waiters.delete(seq);
    });
    this.status = new Promise((resolve) => {
      this.call.on('error', (err: grpc.ServiceError) => resolve(err));
      this.call.on('status', (s: grpc.StatusObject) => {
        if (s.code === grpc.status.OK) resolve(s);
      });
    });
  }

  hello(agentId: string, token = ''): void {
    this.call.write({
      body: { $case: 'hello', value: { agentId, host: 'raw-test', version: 'test', token } },
    });
  }

  send(batch: Batch): void {
    this.call.write({ body: { $case: 'batch', value: batch } });
  }

  /** The answer for `seq`, or a rejection when none came within `timeoutMs`. */
  answer(seq: number, timeoutMs = 10_000): Promise<ShipResponse> {
    const got = this.answers.get(seq);
    if (got) return Promise.resolve(got);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer for seq ${seq} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.set(seq, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }

  /** Sends `batch` and waits for its answer. */
  async ship(batch: Batch, timeoutMs?: number): Promise<ShipResponse> {
    this.send(batch);
    return this.answer(Number(batch.seq), timeoutMs);
  }

  close(): void {
    this.call.on('error', () => undefined);
    this.call.cancel();
    this.client.close();
  }
}

/** The collector's `grpc.health.v1.Health` answer for the whole server. */
export async function healthStatus(address: string): Promise<HealthCheckResponse_ServingStatus> {
  const client = new HealthClient(address, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) =>
      client.check({ service: '' }, (err, res) => (err ? reject(err) : resolve(res.status))),
    );
  } finally {
    client.close();
  }
}
