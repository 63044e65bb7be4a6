import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Component } from '../../../../src/common/lifecycle/component.js';
import { createLogger } from '../../../../src/common/logging/logger.js';
import { HighWaterMarks } from '../../../../src/collector/dedup/high-water-marks.js';
import { Router } from '../../../../src/collector/routing/router.js';
import { BatchProcessor } from '../../../../src/collector/server/batch-processor.js';
import type { Sink, SinkBatch } from '../../../../src/collector/sinks/sink.js';
import { AgentRates } from '../../../../src/collector/smoothing/agent-rates.js';
import { makeBatch } from '../../../helpers/batches.js';

class CountingSink extends Component implements Sink {
  lines = 0;
  constructor(name: string) {
    super(name);
  }
  protected async doStart() {}
  protected async doStop() {}
  async write(batch: SinkBatch) {
    this.lines += batch.lines.length;
  }
}

/** A processor with the collector's metric names and labels, and a tiny per-agent rate. */
function setup() {
  const registry = new Registry();
  const reg = [registry];
  const counter = <L extends string>(name: string, labelNames: L[]) =>
    new Counter<L>({ name, help: name, labelNames, registers: reg });
  const sink = new CountingSink('main');
  const processor = new BatchProcessor(
    {
      maxBatchBytes: 1e6,
      maxBatchLines: 1e5,
      maxInFlightBytes: 1e9,
      retryAfterMs: 750,
      busyRetryAfterMs: 50,
    },
    new Router([], ['main']),
    new Map<string, Sink>([['main', sink]]),
    new HighWaterMarks(),
    createLogger({ level: 'silent' }),
    {
      batches: counter('logrelay_collector_batches_total', ['result']),
      lines: counter('logrelay_collector_lines_total', ['result']),
      bytes: counter('logrelay_collector_bytes_total', ['result']),
      duplicates: counter('logrelay_collector_deduplicated_lines_total', ['sink']),
      sinkSeconds: new Histogram({
        name: 'logrelay_collector_sink_write_seconds',
        help: 's',
        labelNames: ['sink'],
        registers: reg,
      }),
      sinkErrors: counter('logrelay_collector_sink_errors_total', ['sink', 'code']),
      sinkLines: counter('logrelay_collector_sink_committed_lines_total', ['sink']),
      sinkBytes: counter('logrelay_collector_sink_committed_bytes_total', ['sink']),
      limitHits: counter('logrelay_collector_limit_hits_total', ['limit']),
      throttled: counter('logrelay_collector_throttled_batches_total', ['scope', 'name', 'action']),
    },
    // 8 bytes of burst at 10 B/s: a 200-byte batch passes into 19 s of debt, the next is refused.
    { agents: new AgentRates({ bytesPerSecond: 10, burstMs: 800, maxHoldMs: 1000 }) },
  );
  return { processor, sink, registry };
}

/** Each of `agents` (new ids, paths and topics) ships one batch that passes and one refused. */
async function throttleAgents(processor: BatchProcessor, from: number, agents: number) {
  await Promise.all(
    Array.from({ length: agents }, async (_, k) => {
      const i = from + k;
      const overrides = {
        agentId: `agent-${i}`,
        topic: `topic-${i}`,
        stream: {
          host: `host-${i}`,
          path: `/var/log/app-${i}.log`,
          keyPath: '',
          device: 1,
          inode: i,
          fingerprint: `f${i}`,
          generation: 0,
        },
      };
      // A batch larger than the bucket passes and leaves it 19 s in debt (issue 12 #6), so the
      // next one, however small, is refused: the repayment is longer than the hold.
      const big = makeBatch(['y'.repeat(200)], 0, overrides);
      expect((await processor.process(big)).$case).toBe('committed');
      const small = makeBatch(['ok'], big.endOffset, overrides);
      expect(await processor.process(small)).toMatchObject({
        $case: 'retryAfter',
        value: { reason: 'agent over limits.agentRate' },
      });
    }),
  );
}

async function seriesCounts(registry: Registry): Promise<Record<string, number>> {
  const all = await registry.getMetricsAsJSON();
  return Object.fromEntries(all.map((m) => [m.name, m.values.length]));
}

describe('collector metric series', () => {
  it('stay bounded however many distinct agents are throttled', async () => {
    const { processor, sink, registry } = setup();
    await throttleAgents(processor, 0, 5);
    const before = await seriesCounts(registry);
    await throttleAgents(processor, 5, 200);
    expect(sink.lines).toBe(205);
    const throttled = await registry
      .getSingleMetric('logrelay_collector_throttled_batches_total')!
      .get();
    // One series, not one per agent: 205 agents refused once each.
    expect(throttled.values).toEqual([
      { labels: { scope: 'agent', name: 'agentRate', action: 'refused' }, value: 205 },
    ]);
    // No metric the processor feeds grows with agent ids, paths or topics.
    expect(await seriesCounts(registry)).toEqual(before);
  });
});
