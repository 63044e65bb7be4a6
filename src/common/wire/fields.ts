// Role: the rules of a batch's `fields` (proto Batch.fields), shared by the agent's config
// check and the collector's batch check, so both sides refuse exactly the same sets.

/** A batch's fields: key → value, strings both. */
export type BatchFields = Readonly<Record<string, string>>;

/** A field key: a letter or `_`, then up to 63 of [A-Za-z0-9_.-]. */
export const FIELD_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/** Largest field value, in UTF-8 bytes. */
export const MAX_FIELD_VALUE_BYTES = 1024;

/** Most fields a tail may configure (`tails[].fields`). */
export const MAX_TAIL_FIELDS = 32;

/**
 * Most fields a batch may carry. Twice a tail's, so the fields an agent derives per file (a
 * Kubernetes pod, namespace, container) fit beside a tail's full set of static ones.
 */
export const MAX_BATCH_FIELDS = 2 * MAX_TAIL_FIELDS;

/**
 * Names the JSON envelope of a line already uses (and `stream`, MongoDB's): a field by one of
 * these names would shadow, or be shadowed by, the line's own metadata.
 */
export const RESERVED_FIELD_KEYS: ReadonlySet<string> = new Set([
  'agent',
  'host',
  'path',
  'offset',
  'time',
  'line',
  'stream',
]);

/** The one shared empty set: a batch without fields allocates nothing for them. */
export const NO_FIELDS: BatchFields = Object.freeze({});

/** Why `key` cannot be a field key, or undefined when it can. */
export function fieldKeyProblem(key: string): string | undefined {
  if (!FIELD_KEY_PATTERN.test(key))
    return `field key ${JSON.stringify(key.slice(0, 80))} is not a letter or _ then up to 63 of [A-Za-z0-9_.-]`;
  // Assigning it sets an object's prototype instead of a property: it would vanish on the way.
  if (key === '__proto__')
    return 'field key "__proto__" cannot be carried (a JavaScript object key)';
  if (RESERVED_FIELD_KEYS.has(key))
    return `field key ${JSON.stringify(key)} is reserved (${[...RESERVED_FIELD_KEYS].join(', ')} are the envelope's own)`;
  return undefined;
}

/** Why `value` cannot be the value of field `key`, or undefined when it can. */
export function fieldValueProblem(key: string, value: string): string | undefined {
  // A UTF-16 string of n units has at most 3n UTF-8 bytes: most values need no count.
  if (value.length * 3 <= MAX_FIELD_VALUE_BYTES) return undefined;
  const bytes = Buffer.byteLength(value);
  return bytes > MAX_FIELD_VALUE_BYTES
    ? `field ${JSON.stringify(key)} has a ${bytes}-byte value, over ${MAX_FIELD_VALUE_BYTES}`
    : undefined;
}

/**
 * Why a batch's fields break the wire rules (first problem found), or undefined when they
 * keep them: at most MAX_BATCH_FIELDS entries, keys by FIELD_KEY_PATTERN and not reserved,
 * values of at most MAX_FIELD_VALUE_BYTES bytes.
 */
export function batchFieldsProblem(fields: BatchFields): string | undefined {
  let count = 0;
  for (const key in fields) {
    if (++count > MAX_BATCH_FIELDS)
      return `more than ${MAX_BATCH_FIELDS} fields (${Object.keys(fields).length})`;
    const problem = fieldKeyProblem(key) ?? fieldValueProblem(key, fields[key] as string);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Whether a batch carries any field (without allocating a key list). */
export function hasFields(fields: BatchFields | undefined): fields is BatchFields {
  if (fields === undefined) return false;
  for (const _ in fields) return true;
  return false;
}
