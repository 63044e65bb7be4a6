// Role: fields — a tail's static `fields` (config schema, checked with their key paths) and
// the one place a batch's fields are put together from them and from fields found per file.

import { z } from 'zod';
import {
  MAX_TAIL_FIELDS,
  NO_FIELDS,
  fieldKeyProblem,
  fieldValueProblem,
  type BatchFields,
} from '../../common/wire/index.js';

/** `tails[].fields`: checked entry by entry so each error names `tails[i].fields.<key>`. */
export const tailFieldsSchema = z
  .record(z.string(), z.string())
  .superRefine((fields, ctx) => {
    const keys = Object.keys(fields);
    if (keys.length > MAX_TAIL_FIELDS) {
      ctx.addIssue({
        code: 'custom',
        message: `${keys.length} fields, at most ${MAX_TAIL_FIELDS}`,
      });
    }
    for (const key of keys) {
      const problem = fieldKeyProblem(key) ?? fieldValueProblem(key, fields[key] as string);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: problem });
    }
  })
  .default({})
  .describe(
    'Key/values sent with every record of the tail, e.g. {service: checkout, env: prod}: a ' +
      '`fields` object in JSON envelopes, `fields.<key>` Kafka headers. Keys: a letter or _ then ' +
      'up to 63 of [A-Za-z0-9_.-], not agent, host, path, offset, time, line, stream; values: ' +
      'strings of at most 1024 bytes; at most 32 entries. Default: none.',
  );

/**
 * The fields of a file's batches: the fields found for that file (e.g. a Kubernetes pod,
 * namespace, container parsed from its path), then the tail's static ones, which win on a
 * shared key — the operator's explicit word overrides what is derived. The result is frozen and
 * made once per file, not per batch; with neither, the one shared empty set (no allocation).
 *
 * `perFile` keys must keep the wire rules (common/wire/fields.ts) like static ones: a collector
 * refuses a batch that breaks them (BAD_FIELDS), and at most MAX_BATCH_FIELDS − 32 of them fit
 * beside a full static set.
 */
export function batchFields(
  tail: BatchFields | undefined,
  perFile: BatchFields | undefined = undefined,
): BatchFields {
  const hasTail = tail !== undefined && Object.keys(tail).length > 0;
  const hasFile = perFile !== undefined && Object.keys(perFile).length > 0;
  if (!hasTail && !hasFile) return NO_FIELDS;
  return Object.freeze({ ...perFile, ...tail });
}

/** Upper bound of what a set of fields adds to an encoded batch, in bytes (map entry framing). */
export function fieldsWireBytes(fields: BatchFields): number {
  let bytes = 0;
  // Per entry: tag and length of the entry, then each string's tag and length (≤ 3 bytes each
  // for strings under 2 MiB).
  for (const key in fields)
    bytes += 4 + 2 * 3 + Buffer.byteLength(key) + Buffer.byteLength(fields[key] as string);
  return bytes;
}
