/** Values a sink path template can use. */
export interface PathValues {
  topic: string;
  collector: string;
  n: number;
  /** Time the file is opened, used for the date parts (UTC). */
  time: Date;
}

const pad = (v: number, width = 2) => String(v).padStart(width, '0');

/**
 * Expands `{topic}`, `{collector}`, `{n}`, `{yyyy}`, `{MM}`, `{dd}`, `{HH}` and `{yyyy-MM-dd}`.
 * Shared by the file and HDFS sinks so their layouts read the same.
 */
export function expandPath(template: string, v: PathValues): string {
  const t = v.time;
  const date = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
  return template
    .replaceAll('{yyyy-MM-dd}', date)
    .replaceAll('{topic}', v.topic)
    .replaceAll('{collector}', v.collector)
    .replaceAll('{n}', String(v.n))
    .replaceAll('{yyyy}', String(t.getUTCFullYear()))
    .replaceAll('{MM}', pad(t.getUTCMonth() + 1))
    .replaceAll('{dd}', pad(t.getUTCDate()))
    .replaceAll('{HH}', pad(t.getUTCHours()));
}
