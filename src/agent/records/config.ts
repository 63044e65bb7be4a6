// Role: config — the per-tail keys of the record stage (format, multiline,
// includeLines/excludeLines, encoding, kubernetesMetadata), validated at load with their key
// paths; merged into the agent's tail schema.

import { z } from 'zod';
import { FORMATS } from './container-line.js';
import { ENCODINGS } from './decoder.js';
import { patternProblem } from './line-filter.js';

/** A regex that compiles (JavaScript syntax); a bad one is refused at load, naming its key path. */
const regex = z.string().superRefine((value, ctx) => {
  const problem = patternProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/** 1 MiB: default `multiline.maxBytes`. */
export const DEFAULT_MULTILINE_MAX_BYTES = 1024 * 1024;

export const multilineConfigSchema = z
  .strictObject({
    preset: z
      .enum(['java', 'python', 'go'])
      .optional()
      .describe(
        'Ready-made rule: java (stack traces: "at", "... n more", "Caused by:", "Suppressed:", the exception line), python (Traceback blocks), go (panic and goroutine traces). Explicit pattern/negate/match override it. Default: unset.',
      ),
    pattern: regex
      .optional()
      .describe(
        'Regex tested against each line (decoded, without its newline). Required unless preset is set.',
      ),
    negate: z
      .boolean()
      .optional()
      .describe(
        'false: lines matching the pattern are joined to an event; true: lines NOT matching it are (the pattern then matches an event’s first line). Default: false (or the preset’s).',
      ),
    match: z
      .enum(['after', 'before'])
      .optional()
      .describe(
        'after: a joined line is appended to the line before it; before: a joined line is prepended to the line after it. Default: after (or the preset’s).',
      ),
    maxLines: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(500)
      .describe(
        'Most lines in one event; a longer event is cut and its rest starts a new event (counted in logrelay_agent_multiline_cut_total). Default: 500.',
      ),
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .default(DEFAULT_MULTILINE_MAX_BYTES)
      .describe(
        'Most bytes of content in one event (UTF-8, inner newlines included), at most batch.maxBytes; likewise cut. Default: 1 MiB.',
      ),
    flushTimeoutMs: z
      .number()
      .int()
      .min(0)
      .default(5000)
      .describe(
        'An event at the end of the file is sent once no line was added to it for this long, ms (at once when the file is rotated away or deleted). Default: 5000.',
      ),
  })
  .superRefine((value, ctx) => {
    if (value.pattern === undefined && value.preset === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['pattern'],
        message: 'give a pattern, or a preset (java, python, go)',
      });
    }
  })
  .describe(
    'Join lines into events (a stack trace is one record), with Filebeat’s pattern/negate/match semantics. Default: unset (one record per line).',
  );

/** The record-stage keys of a tail (spread into `tailConfigSchema`). */
export const recordConfigFields = {
  format: z
    .enum(FORMATS)
    .default('raw')
    .describe(
      'The files’ layout. raw: one record per line, as written. cri: containerd / CRI-O logs ("<time> <stdout|stderr> <P|F> <content>"); docker-json: Docker’s json-file logs ({"log":"…","stream":"…","time":"…"}). For both, the content alone is shipped, and a line the runtime split in parts (CRI P…F, Docker’s 16 KiB chunks) is reassembled into one record before multiline and the filters see it; a reassembled line longer than lines.maxBytes is cut there (the rest is the next record), and one whose last part is not written yet waits at the end of the file like a multiline event (multiline.flushTimeoutMs, else lines.partialFlushMs). Parts are only joined within one stream (stdout, stderr): a line of the other stream between them cuts the line (counted in logrelay_agent_partial_lines_unfinished_total). A line not in the format is shipped as it is and counted in logrelay_agent_format_malformed_total. Default: raw.',
    ),
  kubernetesMetadata: z
    .boolean()
    .optional()
    .describe(
      'Read fields from the kubelet’s log paths: /var/log/containers/<pod>_<namespace>_<container>-<id>.log gives k8s.pod.name, k8s.namespace.name, k8s.container.name, container.id; /var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log gives k8s.pod.name, k8s.namespace.name, k8s.container.name, k8s.pod.uid, k8s.container.restart_count (OpenTelemetry’s names). They join the tail’s fields in every batch of the file (a static field of the same name wins); a path in neither layout gets none. Default: true when format is cri or docker-json, else false.',
    ),
  multiline: multilineConfigSchema.optional(),
  includeLines: z
    .array(regex)
    .default([])
    .describe(
      'Regexes: only events (after multiline) matching one of them are shipped; the others are dropped, their bytes still acknowledged, and counted in logrelay_agent_lines_filtered_total. Default: none (keep all).',
    ),
  excludeLines: z
    .array(regex)
    .default([])
    .describe(
      'Regexes: events (after multiline, after includeLines) matching one of them are dropped, their bytes still acknowledged, and counted in logrelay_agent_lines_filtered_total. Default: none.',
    ),
  encoding: z
    .enum(ENCODINGS)
    .default('utf-8')
    .describe(
      'The files’ character encoding. utf-8: bytes are shipped untouched. Others (gbk, gb18030, big5, shift_jis, euc-kr, latin1, utf-16le, utf-16be) are decoded and shipped as UTF-8 (gbk by the GB18030 decoder, as the WHATWG Encoding Standard and browsers read it); invalid sequences become U+FFFD (counted in logrelay_agent_decode_errors_total). utf-16le and utf-16be files are split at the two-byte newline. Offsets stay those of the file’s bytes. Default: utf-8.',
    ),
};
