import { z } from 'zod';
import { sinkCommonFields } from '../sink-config.js';

/**
 * `sinks[]` entry of type `file`: newline-terminated lines (raw, or JSON envelopes) in local
 * files, rolled by size and age.
 */
export const fileSinkConfigSchema = z
  .strictObject({
    type: z.literal('file').describe('Sink type: file.'),
    ...sinkCommonFields,
    /** Folder the path template is relative to. */
    directory: z.string().min(1).describe('Folder the path template is relative to.'),
    /**
     * Path of the file being written, relative to `directory`. Tokens: `{topic}`, `{yyyy}`,
     * `{MM}`, `{dd}`, `{HH}` (collector's UTC clock), `{collector}`, and `{n}`, the roll counter
     * (required, so a rolled file is never written again).
     */
    pathTemplate: z
      .string()
      .min(1)
      .default('{topic}/{yyyy}-{MM}-{dd}/{collector}-{n}.log')
      .refine((t) => t.includes('{n}'), 'must contain {n}, the roll counter')
      .refine((t) => !t.split('/').includes('..'), 'must not contain ..')
      .describe('File path template. Default: {topic}/{yyyy}-{MM}-{dd}/{collector}-{n}.log.'),
    /** Roll to a new file past this size, in bytes. Default: 134217728 (128 MiB). */
    maxFileBytes: z
      .number()
      .int()
      .positive()
      .default(128 * 1024 * 1024)
      .describe('Roll past this size, in bytes. Default: 128 MiB.'),
    /** Roll a file this old, in ms. Default: 3600000 (1 h). */
    maxFileAgeMs: z
      .number()
      .int()
      .positive()
      .default(3_600_000)
      .describe('Roll a file this old, in ms. Default: 1 h.'),
    /**
     * What each line of a file is: `raw` = the record's bytes as read, then a newline; `json` =
     * the JSON envelope {agent, host, path, offset, time, line}, plus `fields` when the agent's
     * tail has some, one object per line (a multiline event stays one line, its newlines escaped).
     * Default: raw.
     */
    format: z
      .enum(['raw', 'json'])
      .default('raw')
      .describe(
        'Line format: raw = the record bytes as read; json = {agent, host, path, offset, time, ' +
          'line} plus fields: {..} when the agent’s tail has fields, one JSON object per line ' +
          '(line decoded as UTF-8, invalid bytes become U+FFFD). Default: raw.',
      ),
    /**
     * fsync before acknowledging. Default: true. Turning it off trades the no-loss guarantee on
     * power failure for speed.
     */
    fsync: z.boolean().default(true).describe('fsync before acknowledging. Default: true.'),
  })
  .describe('Local files.');

export type FileSinkConfig = z.output<typeof fileSinkConfigSchema>;
