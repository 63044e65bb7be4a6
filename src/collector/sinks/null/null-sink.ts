import { z } from 'zod';
import { Counter } from 'prom-client';
import { RelayError } from '../../../common/errors/relay-error.js';
import { Component } from '../../../common/lifecycle/component.js';
import type { Sink, SinkBatch, SinkContext } from '../sink.js';

/** `sinks[]` entry of type `null`: accepts and discards everything (benchmarks, dry runs). */
export const nullSinkConfigSchema = z
  .strictObject({
    type: z.literal('null'),
    name: z.string().min(1).describe('Unique sink name that routes refer to.'),
  })
  .describe('Discards every line (for benchmarks and dry runs).');

export type NullSinkConfig = z.output<typeof nullSinkConfigSchema>;

/** Commits instantly and keeps only counts. */
export class NullSink extends Component implements Sink {
  readonly #lines: Counter<'sink'>;
  linesWritten = 0;

  constructor(config: NullSinkConfig, ctx: SinkContext) {
    super(config.name);
    this.#lines =
      (ctx.registry.getSingleMetric('logrelay_null_sink_lines_total') as
        Counter<'sink'> | undefined) ??
      new Counter({
        name: 'logrelay_null_sink_lines_total',
        help: 'Lines discarded by null sinks.',
        labelNames: ['sink'],
        registers: [ctx.registry],
      });
  }

  protected async doStart(): Promise<void> {}
  protected async doStop(): Promise<void> {}

  async write(batch: SinkBatch): Promise<void> {
    if (!this.running)
      throw new RelayError('SINK_NOT_RUNNING', `null sink ${this.name} is not running`, {
        retriable: true,
      });
    this.linesWritten += batch.lines.length;
    this.#lines.inc({ sink: this.name }, batch.lines.length);
  }
}
