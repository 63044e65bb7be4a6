import { expandPath, type PathValues } from '../path-template.js';

// Where an HDFS sink's files live and what they are called at each step of their life:
// written under a hidden in-progress name, fenced under a hidden recovering name when a
// successor recovers a dead writer's file, and visible under the final name once closed.

/** How a file is named while it is written: hidden from Hive and Spark by its prefix. */
export interface InProgressNaming {
  /** Put before the file's name (`.` or `_` hides it from Hive, Spark and MapReduce). */
  readonly prefix: string;
  /** Put after it. */
  readonly suffix: string;
  /** Added to the final name when the template lacks it (`.gz` for gzip files). Default: none. */
  readonly extension?: string;
}

/** The names of one output file along its life. */
export interface HdfsFilePaths {
  /** The name once closed: what readers of the partition see. */
  readonly final: string;
  /** The name while it is written: prefix + final name + suffix, in the same folder. */
  readonly inProgress: string;
  /**
   * The name a successor moves a dead writer's file to before cutting it back, so that an
   * append still on its way to the old name fails instead of landing after the cut.
   */
  readonly recovering: string;
}

export function hdfsFilePaths(
  template: string,
  naming: InProgressNaming,
  values: PathValues,
): HdfsFilePaths {
  const final = `${expandPath(template, values)}${naming.extension ?? ''}`;
  const slash = final.lastIndexOf('/');
  const inProgress = `${final.slice(0, slash + 1)}${naming.prefix}${final.slice(slash + 1)}${naming.suffix}`;
  return { final, inProgress, recovering: `${inProgress}.recovering` };
}

/** The final name of an in-progress path (the inverse of `hdfsFilePaths`). */
export function finalPathOf(inProgress: string, naming: InProgressNaming): string {
  const slash = inProgress.lastIndexOf('/');
  const name = inProgress.slice(slash + 1);
  const bare = name.slice(naming.prefix.length, name.length - naming.suffix.length);
  return `${inProgress.slice(0, slash + 1)}${bare}`;
}

/**
 * Everything of a file's path but its counter: two files with the same key belong to the same
 * partition (topic, date and hour), and a file whose key changes with the clock has to roll.
 */
export function partitionKey(template: string, values: Omit<PathValues, 'n'>): string {
  return expandPath(template, { ...values, n: -1 });
}

type DateToken = 'yyyy' | 'MM' | 'dd' | 'HH';
type Capture = DateToken | 'topic' | 'n';

/** Date parts read back from a path (month 1–12). */
export type DateParts = Partial<Record<DateToken, number>>;

/** One `/`-separated segment of a path template, as a matcher of existing names. */
export interface TemplateSegment {
  /** The segment itself when it has no token (it is descended into without listing). */
  readonly literal: string | undefined;
  readonly regex: RegExp;
  readonly captures: readonly Capture[];
}

const TOKEN = /\{(topic|collector|n|yyyy-MM-dd|yyyy|MM|dd|HH)\}/g;

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Matchers for this collector's in-progress files, segment by segment (the last segment
 * includes the suffix). undefined when the template has no `{collector}`: then nothing tells
 * this collector's files from another's, and start-up recovery must not touch any.
 */
export function inProgressPattern(
  template: string,
  collectorId: string,
  naming: InProgressNaming,
): TemplateSegment[] | undefined {
  if (!template.includes('{collector}')) return undefined;
  const parts = template.split('/').slice(1);
  return parts.map((part, i) => {
    const last = i === parts.length - 1;
    const captures: Capture[] = [];
    let source = last ? escapeRegex(naming.prefix) : '';
    let at = 0;
    for (const m of part.matchAll(TOKEN)) {
      source += escapeRegex(part.slice(at, m.index));
      at = m.index + m[0].length;
      switch (m[1]) {
        case 'collector':
          source += escapeRegex(collectorId);
          break;
        case 'topic':
          source += '([^/]+?)';
          captures.push('topic');
          break;
        case 'n':
          source += '(\\d+)';
          captures.push('n');
          break;
        case 'yyyy-MM-dd':
          source += '(\\d{4})-(\\d{2})-(\\d{2})';
          captures.push('yyyy', 'MM', 'dd');
          break;
        case 'yyyy':
          source += '(\\d{4})';
          captures.push('yyyy');
          break;
        default:
          source += '(\\d{2})';
          captures.push(m[1] as DateToken);
      }
    }
    source += escapeRegex(part.slice(at));
    if (last) source += escapeRegex(`${naming.extension ?? ''}${naming.suffix}`);
    const literal = !last && at === 0 ? part : undefined;
    return { literal, regex: new RegExp(`^${source}$`), captures };
  });
}

/** Matches one name against a segment; returns the date parts it fixes, or undefined. */
export function matchSegment(segment: TemplateSegment, name: string): DateParts | undefined {
  const m = segment.regex.exec(name);
  if (!m) return undefined;
  const dates: DateParts = {};
  segment.captures.forEach((capture, i) => {
    if (capture !== 'topic' && capture !== 'n') dates[capture] = Number(m[i + 1]);
  });
  return dates;
}

/**
 * The end (ms since the epoch, UTC) of the period the known date parts describe: a year, a
 * month, a day or an hour. undefined when the year is unknown.
 */
export function periodEnd(d: DateParts): number | undefined {
  if (d.yyyy === undefined) return undefined;
  if (d.MM === undefined) return Date.UTC(d.yyyy + 1, 0, 1);
  if (d.dd === undefined) return Date.UTC(d.yyyy, d.MM, 1);
  if (d.HH === undefined) return Date.UTC(d.yyyy, d.MM - 1, d.dd + 1);
  return Date.UTC(d.yyyy, d.MM - 1, d.dd, d.HH + 1);
}

/** The partition folders a template must end with (before the file name) for Hive. */
export const HIVE_PARTITION_SEGMENTS = '/dt={yyyy-MM-dd}/hour={HH}/';

/**
 * The part of a template before its Hive partition folders (the table's folder), or undefined
 * when the template does not end in HIVE_PARTITION_SEGMENTS + a file name.
 */
export function hiveTablePrefix(template: string): string | undefined {
  const at = template.indexOf(HIVE_PARTITION_SEGMENTS);
  if (at < 0 || template.slice(at + HIVE_PARTITION_SEGMENTS.length).includes('/')) return undefined;
  return template.slice(0, at);
}
