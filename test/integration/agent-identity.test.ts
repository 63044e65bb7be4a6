/**
 * Issue 12 item 1: a Ship stream speaks for one agent. A batch carrying another agent's id is
 * refused with PERMISSION_DENIED, logged with the stream's agent, the claimed id and the peer,
 * counted as `agent_mismatch`, and nothing of it is written; the agent it claimed to be goes on
 * undisturbed. With mTLS and no per-agent token, the hello's id must be the certificate's
 * (subject CN or DNS subjectAltName), else `cert_mismatch`.
 */
import * as grpc from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Collector } from '../../src/collector/collector.js';
import type { Batch } from '../../src/common/wire/index.js';
import { makeBatch } from '../helpers/batches.js';
import { captureLog } from '../helpers/log-capture.js';
import { RawShip } from '../helpers/raw-client.js';
import { countLines, readAllLines, startCollector } from '../helpers/relay.js';
import { tempDir } from '../helpers/temp-dir.js';

let certs: { dir: string; cleanup: () => Promise<void> };
const cert = (name: string) => join(certs.dir, name);

beforeAll(async () => {
  certs = await tempDir('logrelay-identity-certs-');
  await promisify(execFile)('bash', [
    'scripts/dev-ca.sh',
    certs.dir,
    '--client',
    'evil',
    '--client',
    'legit',
  ]);
}, 60_000);
afterAll(async () => certs.cleanup());

let cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function collectorWith(config: Record<string, unknown>) {
  const out = await tempDir();
  const { log, records } = captureLog();
  const collector = await startCollector(
    { sinks: [{ type: 'file', name: 'files', directory: out.dir, fsync: false }], ...config },
    log,
  );
  cleanups.push(out.cleanup, () => collector.stop());
  return { collector, out: out.dir, records };
}

function raw(collector: Collector, credentials = grpc.credentials.createInsecure()): RawShip {
  const r = new RawShip(collector.address, {}, credentials);
  cleanups.push(async () => r.close());
  return r;
}

/** Sends `batch` and resolves with its answer, or with the stream's status if that ends first. */
async function outcome(r: RawShip, batch: Batch): Promise<string> {
  r.send(batch);
  return Promise.race([
    r.answer(Number(batch.seq)).then((a) => `answered ${a.result?.$case ?? 'nothing'}`),
    r.status.then((s) => `ended ${grpc.status[s.code]}`),
  ]);
}

async function refusedCounts(collector: Collector): Promise<Record<string, number>> {
  const metric = await collector.registry
    .getSingleMetric('logrelay_collector_refused_streams_total')!
    .get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels['reason']), v.value]));
}

function refusals(records: Array<Record<string, unknown>>) {
  return records
    .filter((r) => r['msg'] === 'agent refused')
    .map((r) => ({
      level: r['level'],
      agent: r['agent'],
      claimed: r['claimed'],
      reason: r['reason'],
      peer: String(r['peer']).replace(/:\d+$/, ''),
    }));
}

const legitStream = {
  host: 'legit-host',
  path: '/var/log/legit.log',
  keyPath: '',
  device: 7,
  inode: 4242,
  fingerprint: 'legit-fp',
  generation: 0,
};
const legitLines = Array.from(
  { length: 1000 },
  (_, i) => `legit-line-${String(i).padStart(4, '0')}`,
);
/** Legit's file as 10 batches of 100 lines, offsets as the agent would send them. */
const legitBatches: Batch[] = [];
for (let k = 0, offset = 0; k < 10; k++) {
  const b = makeBatch(legitLines.slice(100 * k, 100 * k + 100), offset, {
    agentId: 'legit',
    seq: k + 1,
    stream: legitStream,
  });
  legitBatches.push(b);
  offset = b.endOffset;
}
/**
 * What the probe sent: one byte of line at legit's mark, claiming 1 MB of dropped bytes, so
 * legit's dedup mark would jump 1 MB ahead and its next lines be taken for duplicates.
 */
const forged = (start: number, seq = 1): Batch =>
  makeBatch(['x'], start, {
    agentId: 'legit',
    seq,
    stream: legitStream,
    truncatedBytes: [1_000_000],
    endOffset: start + 1 + 1_000_000 + 1,
  });

describe('a stream speaks for one agent', () => {
  it('tokens: evil, authenticated as itself, sending a batch as legit is refused; legit then delivers all 1000 lines', async () => {
    const { collector, out, records } = await collectorWith({
      auth: {
        tokens: [
          { agent: 'legit', token: { value: 'legit-secret-0123456789' } },
          { agent: 'evil', token: { value: 'evil-secret-01234567890' } },
        ],
      },
    });
    const legit = raw(collector);
    legit.hello('legit', 'legit-secret-0123456789');
    const answers: string[] = [];
    answers.push(await outcome(legit, legitBatches[0]!));

    const evil = raw(collector);
    evil.hello('evil', 'evil-secret-01234567890');
    const evilOutcome = await outcome(evil, forged(legitBatches[0]!.endOffset));

    for (const b of legitBatches.slice(1)) answers.push(await outcome(legit, b));
    const delivered = await readAllLines(out);

    expect({
      evil: evilOutcome,
      legit: answers,
      counts: countLines(legitLines, delivered),
      inOrder: delivered.join('\n') === legitLines.join('\n'),
      refused: await refusedCounts(collector),
      logged: refusals(records),
    }).toEqual({
      evil: 'ended PERMISSION_DENIED',
      legit: Array(10).fill('answered committed') as string[],
      counts: { written: 1000, delivered: 1000, missing: 0, duplicated: 0, unexpected: 0 },
      inOrder: true,
      refused: { agent_mismatch: 1 },
      logged: [
        {
          level: 'warn',
          agent: 'evil',
          claimed: 'legit',
          reason: 'agent_mismatch',
          peer: expect.stringMatching(/127\.0\.0\.1/) as string,
        },
      ],
    });
  });

  it('no auth: an id other than the hello’s, and ids rotated on a stream without hello, are refused and not written', async () => {
    const { collector, out } = await collectorWith({});
    const hello = raw(collector);
    hello.hello('plain-agent');
    const first = await outcome(hello, makeBatch(['plain-1'], 0, { agentId: 'plain-agent' }));
    const ghost = await outcome(
      hello,
      makeBatch(['ghost-1'], 0, { agentId: 'ghost-agent', seq: 2 }),
    );

    // No hello at all: the first batch names the stream's agent.
    const rotating = raw(collector);
    const r0 = await outcome(rotating, makeBatch(['rot-0'], 0, { agentId: 'rot-0' }));
    const r1 = await outcome(rotating, makeBatch(['rot-1'], 0, { agentId: 'rot-1', seq: 2 }));

    expect({
      first,
      ghost,
      r0,
      r1,
      lines: (await readAllLines(out)).sort(),
      refused: await refusedCounts(collector),
    }).toEqual({
      first: 'answered committed',
      ghost: 'ended PERMISSION_DENIED',
      r0: 'answered committed',
      r1: 'ended PERMISSION_DENIED',
      lines: ['plain-1', 'rot-0'],
      refused: { agent_mismatch: 2 },
    });
  });

  it('mTLS without tokens: a certificate for evil saying hello as legit is refused (cert_mismatch); each certificate works as its own agent', async () => {
    const { collector, out, records } = await collectorWith({
      listen: {
        port: 0,
        host: '127.0.0.1',
        tls: { cert: cert('server.crt'), key: cert('server.key'), clientCa: cert('ca.crt') },
      },
    });
    const caPem = await readFile(cert('ca.crt'));
    const as = async (who: string) =>
      grpc.credentials.createSsl(
        caPem,
        await readFile(cert(`${who}.key`)),
        await readFile(cert(`${who}.crt`)),
      );

    const impostor = raw(collector, await as('evil'));
    impostor.hello('legit');
    const helloAsLegit = await outcome(impostor, forged(0));

    // Admitted as itself, evil still may not send a batch for legit.
    const evil = raw(collector, await as('evil'));
    evil.hello('evil');
    const ownBatch = await outcome(evil, makeBatch(['evil-own'], 0, { agentId: 'evil' }));
    const batchAsLegit = await outcome(evil, forged(0, 2));

    const legit = raw(collector, await as('legit'));
    legit.hello('legit');
    const legitAnswers: string[] = [];
    for (const b of legitBatches) legitAnswers.push(await outcome(legit, b));

    const delivered = await readAllLines(out);
    expect({
      helloAsLegit,
      ownBatch,
      batchAsLegit,
      legit: legitAnswers,
      counts: countLines([...legitLines, 'evil-own'], delivered),
      refused: await refusedCounts(collector),
      reasons: refusals(records).map((r) => [r.agent, r.claimed, r.reason]),
    }).toEqual({
      helloAsLegit: 'ended UNAUTHENTICATED',
      ownBatch: 'answered committed',
      batchAsLegit: 'ended PERMISSION_DENIED',
      legit: Array(10).fill('answered committed') as string[],
      counts: { written: 1001, delivered: 1001, missing: 0, duplicated: 0, unexpected: 0 },
      refused: { cert_mismatch: 1, agent_mismatch: 1 },
      reasons: [
        ['legit', undefined, 'cert_mismatch'],
        ['evil', 'legit', 'agent_mismatch'],
      ],
    });
    const mismatch = records.find((r) => r['reason'] === 'cert_mismatch');
    expect(String(mismatch?.['detail'])).toMatch(/certificate is for evil, not agent legit/);
  });
});
