import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CONFIG_DOC_FILE,
  configDocSections,
  generateConfigDocs,
} from '../../scripts/gen-config-docs.js';
import { checkpointConfigSchema } from '../../src/agent/checkpoint/config.js';
import {
  allConfigKeyRows,
  describeConfigSchema,
  describedDefault,
  renderConfigTable,
  type ConfigKeyRow,
} from '../../src/common/config/schema-doc.js';

// docs/configuration.md is generated from the schemas; it must follow every schema change.
describe('docs/configuration.md', () => {
  it('is what `npm run docs:config` generates now', async () => {
    const expected = await generateConfigDocs();
    const actual = await readFile(CONFIG_DOC_FILE, 'utf8').catch(() => '(missing)');
    expect(
      actual,
      `${relative(process.cwd(), CONFIG_DOC_FILE)} is stale: run \`npm run docs:config\` and commit it`,
    ).toBe(expected);
  });

  it('has a .describe() text for every key of every configuration schema', () => {
    const docs = [
      ...configDocSections().map((s) => ({ name: s.heading, doc: s.doc })),
      // Not a file of its own (agent.yaml has `checkpoint:`), but validated the same way.
      { name: 'checkpoint registry', doc: describeConfigSchema(checkpointConfigSchema) },
    ];
    const offenders = docs.flatMap(({ name, doc }) =>
      allConfigKeyRows(doc)
        .filter((row) => row.description.trim() === '')
        .map((row) => `${name}: ${row.path}`),
    );
    expect(
      offenders,
      `keys without a .describe() text (state meaning, unit and default): ${offenders.join(', ')}`,
    ).toEqual([]);
    expect(docs.every(({ doc }) => allConfigKeyRows(doc).length > 0)).toBe(true);
  });
});

describe('schema walker', () => {
  const row = (r: Partial<ConfigKeyRow> & { path: string; type: string }): ConfigKeyRow => ({
    required: false,
    default: undefined,
    defaultSource: undefined,
    description: '',
    ...r,
  });

  it('lists nested keys with types, required-ness, defaults and descriptions', () => {
    const schema = z.strictObject({
      name: z.string().min(1).describe('Name. No default.'),
      port: z.number().int().min(1).max(65535).default(8080).describe('Port.'),
      mode: z.enum(['fast', 'safe']).default('safe').describe('Mode.'),
      note: z.string().optional().describe('A note. Default: none (no note).'),
      ratio: z.number().positive().lt(1).nullable().describe('Ratio.'),
      nested: z
        .strictObject({
          on: z.boolean().default(true).describe('Switch.'),
          deep: z.strictObject({ url: z.url().describe('URL.') }).optional(),
        })
        .prefault({})
        .describe('Nested.'),
      items: z
        .array(
          z.strictObject({
            path: z.string().describe('Path.'),
            tags: z.array(z.string()).default([]).describe('Tags.'),
          }),
        )
        .min(1)
        .describe('Items.'),
      labels: z.record(z.string(), z.strictObject({ v: z.number().describe('V.') })).optional(),
    });
    expect(describeConfigSchema(schema).rows).toEqual([
      row({ path: 'name', type: 'string', required: true, description: 'Name. No default.' }),
      row({
        path: 'port',
        type: 'integer (1–65535)',
        default: '8080',
        defaultSource: 'schema',
        description: 'Port.',
      }),
      row({
        path: 'mode',
        type: '`fast` | `safe`',
        default: '"safe"',
        defaultSource: 'schema',
        description: 'Mode.',
      }),
      row({
        path: 'note',
        type: 'string',
        default: 'none (no note)',
        defaultSource: 'description',
        description: 'A note. Default: none (no note).',
      }),
      row({
        path: 'ratio',
        type: 'number (> 0, < 1) | null',
        required: true,
        description: 'Ratio.',
      }),
      row({
        path: 'nested',
        type: 'object',
        default: '{}',
        defaultSource: 'schema',
        description: 'Nested.',
      }),
      row({
        path: 'nested.on',
        type: 'boolean',
        default: 'true',
        defaultSource: 'schema',
        description: 'Switch.',
      }),
      row({ path: 'nested.deep', type: 'object' }),
      row({ path: 'nested.deep.url', type: 'URL', required: true, description: 'URL.' }),
      row({
        path: 'items',
        type: 'non-empty array of object',
        required: true,
        description: 'Items.',
      }),
      row({ path: 'items[].path', type: 'string', required: true, description: 'Path.' }),
      row({
        path: 'items[].tags',
        type: 'array of string',
        default: '[]',
        defaultSource: 'schema',
        description: 'Tags.',
      }),
      row({ path: 'labels', type: 'map of object' }),
      row({ path: 'labels.<name>.v', type: 'number', required: true, description: 'V.' }),
    ]);
  });

  it('groups a discriminated union by variant, with the keys they share listed once', () => {
    const common = { name: z.string().describe('Name.') };
    const schema = z.object({
      sinks: z
        .array(
          z.discriminatedUnion('type', [
            z
              .object({ type: z.literal('a').describe('A.'), ...common, size: z.number() })
              .describe('Kind a.'),
            z.object({ type: z.literal('b').describe('B.'), ...common }).describe('Kind b.'),
          ]),
        )
        .describe('Sinks.'),
    });
    const doc = describeConfigSchema(schema);
    expect(doc.rows).toEqual([
      row({
        path: 'sinks',
        type: 'array of object (by `type`: `a` | `b`)',
        required: true,
        description: 'Sinks.',
      }),
    ]);
    expect(doc.groups).toHaveLength(1);
    const [group] = doc.groups;
    expect(group?.path).toBe('sinks[]');
    expect(group?.discriminator).toBe('type');
    expect(group?.common.map((r) => r.path)).toEqual(['sinks[].name']);
    expect(
      group?.variants.map((v) => [v.value, v.description, v.doc.rows.map((r) => r.path)]),
    ).toEqual([
      ['a', 'Kind a.', ['sinks[].type', 'sinks[].size']],
      ['b', 'Kind b.', ['sinks[].type']],
    ]);
    expect(
      allConfigKeyRows(doc)
        .filter((r) => r.description === '')
        .map((r) => r.path),
    ).toEqual(['sinks[].size']);
  });

  it('shows a machine-dependent default in the words of its description', () => {
    const schema = z.object({
      id: z
        .string()
        .default(() => 'this-machine')
        .describe('Id. Default: the host name.'),
    });
    const [id] = describeConfigSchema(schema, {
      isDynamicDefault: (value) => value === 'this-machine',
    }).rows;
    expect(id?.default).toBe('the host name');
    expect(id?.defaultSource).toBe('description');
  });

  it('reads the default out of a description', () => {
    expect(describedDefault('Root. Default: http://127.0.0.1:9870.')).toBe('http://127.0.0.1:9870');
    expect(describedDefault('Size. Default: 0.5. More.')).toBe('0.5');
    expect(describedDefault('Port default: 3306. Required.')).toBeUndefined();
  });

  it('renders a markdown table with pipes and HTML escaped', () => {
    const table = renderConfigTable([
      row({
        path: 'a.<name>',
        type: '`x` | `y`',
        default: '"x"',
        defaultSource: 'schema',
        description: 'In <key>:marks or `<key>`.',
      }),
    ]);
    expect(table.split('\n')).toEqual([
      '| Key | Type | Required | Default | Description |',
      '| --- | --- | --- | --- | --- |',
      '| `a.<name>` | `x` \\| `y` | optional | `"x"` | In &lt;key>:marks or `<key>`. |',
    ]);
  });
});
