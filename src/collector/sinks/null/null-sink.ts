import { z } from 'zod';
import { sinkCommonFields } from '../sink-config.js';
import type { Counter } from 'prom-client';
import { Component } from '../../../common/lifecycle/component.js';
import { sharedCounter } from '../../../common/metrics/shared-metrics.js';
import { sinkNotRunning } from '../in-flight.js';
import type { Sink, SinkBatch, SinkContext } from '../sink.js';

/** `sinks[]` entry of type `null`: accepts and discards everything (benchmarks, dry runs). */
export const nullSinkConfigSchema = z
  .strictObject({
    type: z.literal('null').describe('Sink type: null.'),
    ...sinkCommonFields,
  })
  .describe('Discards every line (for benchmarks and dry runs).');

export type NullSinkConfig = z.output<typeof nullSinkConfigSchema>;

/** Commits instantly and keeps only counts. */
export class NullSink extends Component implements Sink {
  readonly #lines: Counter<'sink'>;
  linesWritten = 0;

  constructor(config: NullSinkConfig, ctx: SinkContext) {
    super(config.name);
    this.#lines = sharedCounter(
      ctx.registry,
      'logrelay_null_sink_lines_total',
      'Lines discarded by null sinks.',
      ['sink'],
    );
  }

  protected async doStart(): Promise<void> {}
  protected async doStop(): Promise<void> {}

  async write(batch: SinkBatch): Promise<void> {
    if (!this.running) throw sinkNotRunning('null', this.name, this.state);
    this.linesWritten += batch.lines.length;
    this.#lines.inc({ sink: this.name }, batch.lines.length);
  }
}
