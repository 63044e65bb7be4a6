import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { RelayError } from '../errors/relay-error.js';
import { findAliasBomb, maxAliasCount } from './alias-bomb.js';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { formatKeyPath } from './key-path.js';

export { formatKeyPath } from './key-path.js';

function issuesOf(error: z.ZodError): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const base = formatKeyPath(issue.path);
    // Unknown keys are reported one per key so each error names the exact path to delete.
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({ path: base === '' ? key : `${base}.${key}`, message: 'unknown key' });
      }
      continue;
    }
    issues.push({ path: base, message: issue.message });
  }
  return issues;
}

/**
 * Validates an already-parsed value against a component's schema. Every problem is collected
 * and thrown at once as a ConfigError; the returned value has all defaults filled in and is frozen.
 */
export function validateConfig<S extends z.ZodType>(
  schema: S,
  value: unknown,
  source = 'config',
): Readonly<z.output<S>> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new ConfigError(source, issuesOf(result.error), result.error);
  return deepFreeze(result.data);
}

/** Parses YAML text (reporting syntax errors with line and column) and validates it. */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  text: string,
  source = 'config',
): Readonly<z.output<S>> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '',
        message: e.message.split('\n')[0] ?? e.message,
      })),
    );
  }
  const bomb = findAliasBomb(doc);
  if (bomb !== undefined) {
    throw new ConfigError(source, [
      {
        path: bomb,
        message: `YAML aliases expand past ${maxAliasCount} uses (an alias bomb); write the values out`,
      },
    ]);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount });
  } catch (err) {
    // An unresolved alias, or a count the check above did not foresee: still this file's fault.
    throw new ConfigError(source, [{ path: '', message: (err as Error).message }], err);
  }
  return validateConfig(schema, value, source);
}

/** Reads a YAML file and validates it against `schema`. */
export async function loadConfigFile<S extends z.ZodType>(
  schema: S,
  file: string,
): Promise<Readonly<z.output<S>>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    // Exit status 2 (cli.ts): a missing or unreadable file is fixed by the operator, and a
    // supervisor restarting the process in a loop would only hide it.
    const code = (err as NodeJS.ErrnoException).code;
    throw new RelayError(
      'CONFIG_UNREADABLE',
      `cannot read configuration file ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      { cause: err, details: { source: file, ...(code ? { code } : {}) } },
    );
  }
  return parseConfig(schema, text, file);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
