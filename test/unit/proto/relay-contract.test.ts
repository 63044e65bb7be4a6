import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch, ShipResponse } from '../../../src/common/wire/index.js';
import {
  Batch as BatchMessage,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  HealthService,
  messageSizeOptions,
  RelayClient,
  RelayService,
  ShipRequest,
  type HealthServer,
  type RelayServer,
} from '../../../src/common/wire/index.js';

const lines = [Buffer.from('hello'), Buffer.from([0xff, 0xfe, 0x00, 0x41]), Buffer.from('')];
const batch: Batch = {
  agentId: 'agent-1',
  seq: 7,
  stream: {
    host: 'web-1',
    path: '/var/log/app.log',
    keyPath: '/var/log/app-first.log',
    device: 2049,
    inode: 1234567,
    fingerprint: 'ab12',
    generation: 2,
  },
  topic: 'app',
  startOffset: 100,
  endOffset: 100 + 6 + 5 + 1,
  lines: Buffer.concat(lines),
  lineLengths: lines.map((l) => l.length),
  terminatorLengths: [],
  truncatedBytes: [],
  readTimeMs: 1_790_000_000_000,
  sourceLengths: [],
  skippedBefore: [],
  skippedAfter: 0,
  fields: {},
};

describe('wire contract', () => {
  it('round-trips a batch with binary, invalid UTF-8 and empty lines byte for byte', () => {
    const decoded = ShipRequest.decode(
      ShipRequest.encode({ body: { $case: 'batch', value: batch } }).finish(),
    );
    expect(decoded.body?.$case).toBe('batch');
    const got = decoded.body?.$case === 'batch' ? decoded.body.value : undefined;
    expect({ ...got, lines: undefined }).toEqual({ ...batch, lines: undefined });
    expect(Buffer.from(got?.lines ?? []).equals(Buffer.concat(lines))).toBe(true);
  });

  it('round-trips the record fields (source lengths, skipped bytes); an old batch has none', () => {
    const records: Batch = {
      ...batch,
      sourceLengths: [40, 2 ** 40, 1],
      skippedBefore: [0, 7, 2 ** 33],
      skippedAfter: 2 ** 35,
    };
    const decode = (b: Batch) => {
      const d = ShipRequest.decode(
        ShipRequest.encode({ body: { $case: 'batch', value: b } }).finish(),
      );
      return d.body?.$case === 'batch' ? d.body.value : undefined;
    };
    expect(decode(records)).toMatchObject({
      sourceLengths: [40, 2 ** 40, 1],
      skippedBefore: [0, 7, 2 ** 33],
      skippedAfter: 2 ** 35,
    });
    // Unset, fields 12-14 take no bytes: an agent without a record stage sends what it did.
    const size = (b: Batch) =>
      ShipRequest.encode({ body: { $case: 'batch', value: b } }).finish().length;
    expect(size(records) - size(batch)).toBeGreaterThan(0);
    expect(size({ ...batch, skippedAfter: 1 }) - size(batch)).toBe(2);
    expect(decode(batch)).toMatchObject({ sourceLengths: [], skippedBefore: [], skippedAfter: 0 });
  });

  it('round-trips the batch fields; an empty set takes no bytes, so an old batch is unchanged', () => {
    const fields = { service: 'checkout', env: 'prod', 'k8s.namespace': 'shop-ü' };
    const encode = (b: Batch) =>
      ShipRequest.encode({ body: { $case: 'batch', value: b } }).finish();
    const decoded = ShipRequest.decode(encode({ ...batch, fields }));
    const got = decoded.body?.$case === 'batch' ? decoded.body.value : undefined;
    expect(got?.fields).toEqual(fields);
    expect(Object.keys(got?.fields ?? {})).toHaveLength(3);
    // Each entry: tag, length, then the key and the value as a tagged string each.
    const entry = (k: string, v: string) => 2 + 2 + Buffer.byteLength(k) + 2 + Buffer.byteLength(v);
    const size = (b: Batch) => BatchMessage.encode(b).finish().length;
    expect(size({ ...batch, fields }) - size(batch)).toBe(
      Object.entries(fields).reduce((n, [k, v]) => n + entry(k, v), 0),
    );
    const old = ShipRequest.decode(encode(batch));
    expect(old.body?.$case === 'batch' ? old.body.value.fields : undefined).toEqual({});
  });

  describe('over gRPC on loopback', () => {
    let server: grpc.Server;
    let address: string;

    beforeAll(async () => {
      server = new grpc.Server(messageSizeOptions(64 * 1024));
      const relay: RelayServer = {
        ship: (call: grpc.ServerDuplexStream<ShipRequest, ShipResponse>) => {
          call.on('data', (req: ShipRequest) => {
            if (req.body?.$case !== 'batch') return;
            const b = req.body.value;
            call.write(
              b.topic === 'bad'
                ? {
                    seq: b.seq,
                    result: { $case: 'rejected', value: { code: 'BAD_TOPIC', reason: 'bad' } },
                  }
                : { seq: b.seq, result: { $case: 'committed', value: { duplicateLines: 0 } } },
            );
          });
          call.on('end', () => call.end());
        },
      };
      const health: HealthServer = {
        check: (_call, callback) =>
          callback(null, { status: HealthCheckResponse_ServingStatus.SERVING }),
        watch: (call) => call.end(),
      };
      server.addService(RelayService, relay);
      server.addService(HealthService, health);
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
          err ? reject(err) : resolve(p),
        ),
      );
      address = `127.0.0.1:${port}`;
    });

    afterAll(() => server.forceShutdown());

    it('answers every sequence number of a bidi Ship stream, committed or rejected', async () => {
      const client = new RelayClient(
        address,
        grpc.credentials.createInsecure(),
        messageSizeOptions(64 * 1024),
      );
      const call = client.ship();
      const answers: ShipResponse[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on('data', (r: ShipResponse) => answers.push(r));
        call.on('end', resolve);
        call.on('error', reject);
      });
      call.write({
        body: {
          $case: 'hello',
          value: { agentId: 'agent-1', host: 'web-1', version: 't', token: '' },
        },
      });
      for (const [seq, topic] of [
        [1, 'app'],
        [2, 'bad'],
        [3, 'app'],
      ] as const) {
        call.write({ body: { $case: 'batch', value: { ...batch, seq, topic } } });
      }
      call.end();
      await done;
      client.close();
      expect(answers.map((a) => [a.seq, a.result?.$case])).toEqual([
        [1, 'committed'],
        [2, 'rejected'],
        [3, 'committed'],
      ]);
    });

    it('refuses a message above the explicit size limit with RESOURCE_EXHAUSTED', async () => {
      const client = new RelayClient(address, grpc.credentials.createInsecure());
      const call = client.ship();
      const status = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      call.on('data', () => undefined);
      call.write({
        body: {
          $case: 'batch',
          value: { ...batch, lines: Buffer.alloc(100 * 1024), lineLengths: [100 * 1024] },
        },
      });
      expect((await status).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      client.close();
    });

    it('serves grpc.health.v1.Health on the same port', async () => {
      const client = new HealthClient(address, grpc.credentials.createInsecure());
      const response = await new Promise((resolve, reject) =>
        client.check({ service: '' }, (err, res) => (err ? reject(err) : resolve(res))),
      );
      expect(response).toEqual({ status: HealthCheckResponse_ServingStatus.SERVING });
      client.close();
    });
  });
});
