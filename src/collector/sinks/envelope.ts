// Role: envelope — the JSON object a line travels in when a sink's `format` is json (Kafka
// record values, file lines, Redis list elements): one builder, so every sink writes the same
// shape byte for byte; and the one name a field has outside it (`fields.<key>`).

import { hasFields, type BatchFields } from '../../common/wire/index.js';
import type { SinkBatch } from './sink.js';

/**
 * How a field is named where it sits beside the standard metadata rather than inside the
 * envelope's `fields` object (Kafka headers, Redis stream entry fields, HBase cells):
 * `fields.<key>`, its dotted path in the envelope. The prefix keeps the agent's fields apart
 * from the standard names and from any a later version adds.
 */
export const FIELD_PREFIX = 'fields.';

/** A line's JSON envelope. */
export interface JsonEnvelope {
  agent: string;
  host: string;
  path: string;
  offset: number;
  /** ISO 8601 of the batch's read time, or null when the agent sent no usable time. */
  time: string | null;
  line: string;
  /** The batch's fields (its tail's `fields`); absent when it has none. */
  fields?: BatchFields;
}

/**
 * Builds the envelopes of one batch. What is the same for every line (the read time, whether
 * there are fields) is worked out once; a batch without fields gets exactly the object it got
 * before fields existed, so its JSON is byte-identical and costs nothing more.
 */
export function envelopeBuilder(
  batch: Pick<SinkBatch, 'agentId' | 'host' | 'path' | 'readTimeMs' | 'fields'>,
): (line: Buffer, offset: number) => string {
  const time = Number.isFinite(batch.readTimeMs) ? new Date(batch.readTimeMs).toISOString() : null;
  const { agentId: agent, host, path } = batch;
  const fields = hasFields(batch.fields) ? batch.fields : undefined;
  if (fields === undefined) {
    return (line, offset) =>
      JSON.stringify({
        agent,
        host,
        path,
        offset,
        time,
        // Buffer#toString replaces invalid UTF-8 with U+FFFD instead of throwing.
        line: line.toString('utf8'),
      } satisfies JsonEnvelope);
  }
  // The fields serialised once per batch and spliced in before the closing brace: the same
  // text JSON.stringify gives with `fields` as the last key, without walking them per line.
  const tail = `,"fields":${JSON.stringify(fields)}}`;
  return (line, offset) => {
    const json = JSON.stringify({
      agent,
      host,
      path,
      offset,
      time,
      line: line.toString('utf8'),
    } satisfies JsonEnvelope);
    return json.slice(0, -1) + tail;
  };
}
