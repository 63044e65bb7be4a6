import { z } from 'zod';

/**
 * Reference documentation from the zod configuration schemas: a walker that turns a schema into
 * one row per key (path, type, required, default, description), and a markdown renderer.
 *
 * The walker reads the public zod v4 API (`instanceof`, `.shape`, `.element`, `.options`,
 * `.unwrap()`, the global registry that `.describe()` writes to) and `_zod.def` only for what has
 * no public accessor: default values, the discriminator key and the bounds of numbers and arrays.
 */

type Schema = z.core.$ZodType;

/** One configuration key. */
export interface ConfigKeyRow {
  /** Key path: `cluster.zookeeper.connect`; `tails[].paths` for array entries, `auth.tokens.<name>` for record entries. */
  path: string;
  /** Human type, markdown inline syntax: `integer (≥ 100)`, `` `raw` | `json` ``, `array of string`. */
  type: string;
  /** Must be given (when its parent section is); false when the key has a default or may be left out. */
  required: boolean;
  /** JSON of the schema's default, else the default as the description words it; undefined: none. */
  default: string | undefined;
  /** Where `default` comes from. */
  defaultSource: 'schema' | 'description' | undefined;
  /** The `.describe()` text ('' when there is none). */
  description: string;
}

/** One alternative of a discriminated union: the rows it adds. */
export interface SchemaVariant {
  /** The discriminator's value(s), e.g. `kafka`. */
  value: string;
  description: string;
  doc: SchemaDoc;
}

/** A discriminated union (e.g. `sinks[]` by `type`): keys all variants share, then each variant's. */
export interface VariantGroup {
  /** Path of the union's values, e.g. `sinks[]`. */
  path: string;
  /** The discriminator key, e.g. `type`. */
  discriminator: string;
  description: string;
  /** Rows identical in every variant (left out of the variants' own rows). */
  common: ConfigKeyRow[];
  variants: SchemaVariant[];
}

/** Everything documented about one schema. */
export interface SchemaDoc {
  description: string;
  rows: ConfigKeyRow[];
  groups: VariantGroup[];
}

export interface DescribeOptions {
  /** Prefix of every path (to document a schema that lives below the root of a file). */
  prefix?: string;
  /**
   * True for a default computed when the configuration is loaded (such as the host name): its
   * value depends on the machine, so the row shows the description's `Default:` text instead.
   */
  isDynamicDefault?: (value: unknown, path: string) => boolean;
}

/** The schema under its wrappers, with what the wrappers say about the key. */
interface Unwrapped {
  inner: Schema;
  optional: boolean;
  nullable: boolean;
  /** Present when a `.default()` or `.prefault()` wraps the schema. */
  defaultValue?: { value: unknown };
  /** The outermost `.describe()` text on the way in. */
  description: string | undefined;
}

function describedAs(schema: Schema): string | undefined {
  const text = z.globalRegistry.get(schema)?.description;
  return text === undefined || text.trim() === '' ? undefined : text;
}

/** Peels optional, nullable, default, prefault, readonly, catch, lazy and pipe wrappers. */
function unwrap(schema: Schema): Unwrapped {
  const out: Unwrapped = {
    inner: schema,
    optional: false,
    nullable: false,
    description: undefined,
  };
  let s = schema;
  for (let depth = 0; depth < 32; depth++) {
    out.description ??= describedAs(s);
    if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault) {
      out.optional = true;
      // The def's getter calls a default given as a function.
      out.defaultValue ??= { value: s._zod.def.defaultValue };
      s = s.unwrap();
    } else if (s instanceof z.ZodOptional || s instanceof z.ZodExactOptional) {
      out.optional = true;
      s = s.unwrap();
    } else if (s instanceof z.ZodNullable) {
      out.nullable = true;
      s = s.unwrap();
    } else if (
      s instanceof z.ZodReadonly ||
      s instanceof z.ZodCatch ||
      s instanceof z.ZodNonOptional ||
      s instanceof z.ZodLazy
    ) {
      s = s.unwrap();
    } else if (s instanceof z.ZodPipe) {
      // A file holds the pipe's input; z.preprocess() puts a transform first, then the schema.
      s = s.in instanceof z.ZodTransform ? s.out : s.in;
    } else {
      break;
    }
  }
  out.inner = s;
  return out;
}

interface Bound {
  value: number;
  inclusive: boolean;
}

/** Bounds of a number (`.min()`, `.gt()`, `.positive()`, ...), from its checks. */
function numberBounds(schema: z.ZodNumber): { lower?: Bound; upper?: Bound } {
  let lower: Bound | undefined;
  let upper: Bound | undefined;
  for (const check of schema._zod.def.checks ?? []) {
    const def = check._zod.def as { check: string; value?: unknown; inclusive?: boolean };
    if (typeof def.value !== 'number') continue;
    const bound = { value: def.value, inclusive: def.inclusive ?? true };
    if (def.check === 'greater_than' && (!lower || bound.value >= lower.value)) lower = bound;
    if (def.check === 'less_than' && (!upper || bound.value <= upper.value)) upper = bound;
  }
  if (schema.isInt) {
    // An integer > 0 is an integer ≥ 1.
    if (lower && !lower.inclusive && Number.isInteger(lower.value))
      lower = { value: lower.value + 1, inclusive: true };
    if (upper && !upper.inclusive && Number.isInteger(upper.value))
      upper = { value: upper.value - 1, inclusive: true };
  }
  return { ...(lower ? { lower } : {}), ...(upper ? { upper } : {}) };
}

function numberType(schema: z.ZodNumber): string {
  const base = schema.isInt ? 'integer' : 'number';
  const { lower, upper } = numberBounds(schema);
  if (lower?.inclusive && upper?.inclusive) return `${base} (${lower.value}–${upper.value})`;
  const parts: string[] = [];
  if (lower) parts.push(`${lower.inclusive ? '≥' : '>'} ${lower.value}`);
  if (upper) parts.push(`${upper.inclusive ? '≤' : '<'} ${upper.value}`);
  return parts.length > 0 ? `${base} (${parts.join(', ')})` : base;
}

/** `(at least 1)`, `(at most 8)`, `(1 to 8)` or '' for an array's length checks. */
function lengthNote(schema: z.ZodArray): string {
  let min: number | undefined;
  let max: number | undefined;
  for (const check of schema._zod.def.checks ?? []) {
    const def = check._zod.def as {
      check: string;
      minimum?: number;
      maximum?: number;
      length?: number;
    };
    if (def.check === 'min_length' && def.minimum !== undefined) min = def.minimum;
    if (def.check === 'max_length' && def.maximum !== undefined) max = def.maximum;
    if (def.check === 'length_equals' && def.length !== undefined) min = max = def.length;
  }
  if (min !== undefined && max !== undefined)
    return min === max ? ` (exactly ${min})` : ` (${min} to ${max})`;
  if (min !== undefined && min > 0) return ` (at least ${min})`;
  if (max !== undefined) return ` (at most ${max})`;
  return '';
}

function literalText(value: unknown): string {
  return typeof value === 'string' && value !== ''
    ? `\`${value}\``
    : `\`${JSON.stringify(value)}\``;
}

/** The values a discriminated union's option takes for its discriminator. */
function discriminatorValues(option: Schema, discriminator: string): unknown[] {
  const inner = unwrap(option).inner;
  if (!(inner instanceof z.ZodObject)) return [];
  const key = inner.shape[discriminator];
  if (key === undefined) return [];
  const value = unwrap(key).inner;
  if (value instanceof z.ZodLiteral) return [...value.values];
  if (value instanceof z.ZodEnum) return [...value.options];
  return [];
}

/** The human type of an unwrapped schema. */
function typeOf(schema: Schema): string {
  if (schema instanceof z.ZodStringFormat) {
    const format = schema._zod.def.format;
    if (format === 'url') return 'URL';
    return format === 'regex' ? 'string' : `string (${format})`;
  }
  if (schema instanceof z.ZodString) return 'string';
  if (schema instanceof z.ZodNumber) return numberType(schema);
  if (schema instanceof z.ZodBoolean) return 'boolean';
  if (schema instanceof z.ZodEnum) return schema.options.map(literalText).join(' | ');
  if (schema instanceof z.ZodLiteral) return [...schema.values].map(literalText).join(' | ');
  if (schema instanceof z.ZodObject || schema instanceof z.ZodIntersection) return 'object';
  if (schema instanceof z.ZodArray) {
    const element = elementType(schema.element);
    const note = lengthNote(schema);
    // The common case reads best as an adjective.
    if (note === ' (at least 1)') return `non-empty array of ${element}`;
    return `array of ${element}${note}`;
  }
  if (schema instanceof z.ZodRecord) return `map of ${elementType(schema.valueType)}`;
  if (schema instanceof z.ZodDiscriminatedUnion) {
    const discriminator = schema._zod.def.discriminator;
    const values = schema.options.flatMap((o) => discriminatorValues(o, discriminator));
    return `object (by \`${discriminator}\`: ${values.map(literalText).join(' | ')})`;
  }
  if (schema instanceof z.ZodUnion) {
    const types = schema.options.map((o) => {
      const u = unwrap(o);
      return typeOf(u.inner) + (u.nullable ? ' | null' : '');
    });
    return [...new Set(types)].join(' | ');
  }
  return schema._zod.def.type;
}

/** Type of an array's or record's values, parenthesised when it is a union. */
function elementType(schema: Schema): string {
  const u = unwrap(schema);
  const type = typeOf(u.inner) + (u.nullable ? ' | null' : '');
  return type.includes(' | ') && !type.startsWith('object (') ? `(${type})` : type;
}

/** The text after `Default:` in a description, up to the end of its sentence. */
export function describedDefault(description: string): string | undefined {
  const match = /\bDefault:\s*(.*?)(?:\.(?=\s|$)|$)/.exec(description);
  const text = match?.[1]?.trim();
  return text ? text : undefined;
}

function defaultOf(
  u: Unwrapped,
  path: string,
  description: string,
  options: DescribeOptions,
): Pick<ConfigKeyRow, 'default' | 'defaultSource'> {
  if (u.defaultValue && !options.isDynamicDefault?.(u.defaultValue.value, path)) {
    const value = u.defaultValue.value;
    return { default: JSON.stringify(value) ?? String(value), defaultSource: 'schema' };
  }
  if (u.optional) {
    const text = describedDefault(description) ?? (u.defaultValue ? 'computed when loaded' : '');
    if (text) return { default: text, defaultSource: 'description' };
  }
  return { default: undefined, defaultSource: undefined };
}

function emptyDoc(description: string): SchemaDoc {
  return { description, rows: [], groups: [] };
}

function addRow(doc: SchemaDoc, row: ConfigKeyRow): boolean {
  // A key reached twice (two object members of a union) is documented once.
  if (doc.rows.some((r) => r.path === row.path)) return false;
  doc.rows.push(row);
  return true;
}

function walkKey(path: string, schema: Schema, doc: SchemaDoc, options: DescribeOptions): void {
  const u = unwrap(schema);
  const description = u.description ?? '';
  const added = addRow(doc, {
    path,
    type: typeOf(u.inner) + (u.nullable ? ' | null' : ''),
    required: !u.optional,
    ...defaultOf(u, path, description, options),
    description,
  });
  if (added) walkChildren(path, u.inner, doc, options);
}

/** Rows for what lies below a key: object keys, array and record entries, union members. */
function walkChildren(path: string, schema: Schema, doc: SchemaDoc, options: DescribeOptions) {
  const join = (key: string) => (path === '' ? key : `${path}.${key}`);
  if (schema instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(schema.shape))
      walkKey(join(key), child, doc, options);
  } else if (schema instanceof z.ZodArray) {
    walkChildren(`${path}[]`, unwrap(schema.element).inner, doc, options);
  } else if (schema instanceof z.ZodRecord) {
    walkChildren(join('<name>'), unwrap(schema.valueType).inner, doc, options);
  } else if (schema instanceof z.ZodDiscriminatedUnion) {
    doc.groups.push(variantGroup(path, schema, options));
  } else if (schema instanceof z.ZodUnion) {
    for (const option of schema.options) walkChildren(path, unwrap(option).inner, doc, options);
  } else if (schema instanceof z.ZodIntersection) {
    walkChildren(path, unwrap(schema._zod.def.left).inner, doc, options);
    walkChildren(path, unwrap(schema._zod.def.right).inner, doc, options);
  }
}

function sameRow(a: ConfigKeyRow, b: ConfigKeyRow): boolean {
  return (
    a.path === b.path &&
    a.type === b.type &&
    a.required === b.required &&
    a.default === b.default &&
    a.defaultSource === b.defaultSource &&
    a.description === b.description
  );
}

function variantGroup(
  path: string,
  schema: z.ZodDiscriminatedUnion,
  options: DescribeOptions,
): VariantGroup {
  const discriminator = schema._zod.def.discriminator;
  const variants = schema.options.map((option): SchemaVariant => {
    const u = unwrap(option);
    const doc = emptyDoc(u.description ?? '');
    walkChildren(path, u.inner, doc, options);
    const value = discriminatorValues(option, discriminator)
      .map((v) => String(v))
      .join(' | ');
    return { value, description: doc.description, doc };
  });
  const [first, ...rest] = variants;
  const common =
    first && rest.length > 0
      ? first.doc.rows.filter((row) => rest.every((v) => v.doc.rows.some((r) => sameRow(r, row))))
      : [];
  for (const variant of variants) {
    variant.doc.rows = variant.doc.rows.filter((row) => !common.some((c) => sameRow(c, row)));
  }
  return { path, discriminator, description: describedAs(schema) ?? '', common, variants };
}

/** Documents every key of a configuration schema, in declaration order. */
export function describeConfigSchema(schema: Schema, options: DescribeOptions = {}): SchemaDoc {
  const u = unwrap(schema);
  const doc = emptyDoc(u.description ?? '');
  walkChildren(options.prefix ?? '', u.inner, doc, options);
  return doc;
}

/** Every row of a document: its own, and those of its variant groups (common and per variant). */
export function allConfigKeyRows(doc: SchemaDoc): ConfigKeyRow[] {
  return [
    ...doc.rows,
    ...doc.groups.flatMap((g) => [
      ...g.common,
      ...g.variants.flatMap((v) => allConfigKeyRows(v.doc)),
    ]),
  ];
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** One section of the reference (a configuration file). */
export interface ConfigDocSection {
  /** Heading text, e.g. `agent.yaml`. */
  heading: string;
  /** Markdown paragraphs under the heading, before the table. */
  intro?: string[];
  doc: SchemaDoc;
}

export interface ConfigDocument {
  /** Markdown put before the title (e.g. an HTML comment saying the file is generated). */
  banner?: string;
  title: string;
  /** Markdown paragraphs under the title. */
  preamble: string[];
  sections: ConfigDocSection[];
}

/** A table cell: one line, pipes escaped, and `<` before a tag-like name escaped outside code spans. */
function cell(text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/<(?=[A-Za-z/!?])/g, '&lt;')))
    .join('')
    .replace(/\|/g, '\\|');
}

function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** A markdown table of rows (Key, Type, Required, Default, Description). */
export function renderConfigTable(rows: readonly ConfigKeyRow[]): string {
  const lines = [
    '| Key | Type | Required | Default | Description |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const dflt =
      row.default === undefined
        ? '—'
        : row.defaultSource === 'schema'
          ? code(row.default)
          : row.default;
    const cells = [code(row.path), row.type, row.required ? 'required' : 'optional', dflt];
    lines.push(`| ${[...cells, row.description].map(cell).join(' | ')} |`);
  }
  return lines.join('\n');
}

function heading(level: number, text: string): string {
  return `${'#'.repeat(Math.min(level, 6))} ${text}`;
}

function renderDoc(doc: SchemaDoc, level: number, blocks: string[]): void {
  if (doc.rows.length > 0) blocks.push(renderConfigTable(doc.rows));
  for (const group of doc.groups) {
    blocks.push(heading(level, `${code(group.path)} by ${code(group.discriminator)}`));
    const values = group.variants.map((v) => code(v.value)).join(', ');
    if (group.description) blocks.push(group.description);
    const subject = group.path.endsWith('[]')
      ? `Each entry of ${code(group.path.slice(0, -2))} is`
      : `${code(group.path)} is`;
    blocks.push(
      `${subject} one of ${values}, selected by its ${code(group.discriminator)} key.` +
        (group.common.length > 0 ? ' Keys every type has:' : ''),
    );
    if (group.common.length > 0) blocks.push(renderConfigTable(group.common));
    for (const variant of group.variants) {
      blocks.push(heading(level + 1, code(`${group.discriminator}: ${variant.value}`)));
      if (variant.description) blocks.push(variant.description);
      renderDoc(variant.doc, level + 2, blocks);
    }
  }
}

/** The whole reference as markdown (not yet run through a formatter). */
export function renderConfigDocs(document: ConfigDocument): string {
  const blocks: string[] = [
    ...(document.banner ? [document.banner] : []),
    heading(1, document.title),
    ...document.preamble,
  ];
  for (const section of document.sections) {
    blocks.push(heading(2, section.heading));
    if (section.doc.description) blocks.push(section.doc.description);
    blocks.push(...(section.intro ?? []));
    renderDoc(section.doc, 3, blocks);
  }
  return `${blocks.join('\n\n')}\n`;
}
