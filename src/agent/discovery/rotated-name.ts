/**
 * The rotation chain of a file, as far as names tell it: `app.log.1`, `app.log.2.gz` and
 * `app.log-20240101` are generations of `app.log`. A generation the agent never saw under the
 * live name (rotated several times between two scans, or while the agent was down) is keyed by
 * the live name and read in its turn, not as a file of its own.
 */

/**
 * What a rotation tool appends to the live name: a counter (`.1`, `-3`, `_2`) or a date
 * (`-20240101`, `.2024-01-01`, `-20240101-1700`), then optionally a compression extension.
 */
const ROTATION_SUFFIX =
  /^[._-](?:\d{1,6}|\d{4}-?\d{2}-?\d{2}(?:[._T-]?\d{2,6})*)(?:\.(?:gz|bz2|xz|zst|zstd))?$/;

/** Whether `path` is `live` plus a rotation suffix. */
export function isRotationOf(path: string, live: string): boolean {
  return (
    path.length > live.length &&
    path.startsWith(live) &&
    ROTATION_SUFFIX.test(path.slice(live.length))
  );
}

/**
 * The live name `path` is a rotated generation of, among `names` (paths found by the scan and
 * key paths of known files); `path` itself when it is none's. Names that are generations of
 * another name are never taken for live ones.
 */
export function liveNameOf(path: string, names: Iterable<string>): string {
  const all = [...new Set(names)];
  let best: string | undefined;
  for (const name of all) {
    if (!isRotationOf(path, name)) continue;
    if (all.some((other) => isRotationOf(name, other))) continue;
    if (best === undefined || name.length > best.length) best = name;
  }
  return best ?? path;
}
