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

/**
 * Parses YAML text into plain data, reporting syntax errors with line and column and an alias
 * bomb by its key path, all as a ConfigError of `source`.
 */
export function parseConfigText(text: string, source = 'config'): unknown {
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
  try {
    return doc.toJS({ maxAliasCount });
  } catch (err) {
    // An unresolved alias, or a count the check above did not foresee: still this file's fault.
    throw new ConfigError(source, [{ path: '', message: (err as Error).message }], err);
  }
}

/** Parses YAML text (reporting syntax errors with line and column) and validates it. */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  text: string,
  source = 'config',
): Readonly<z.output<S>> {
  return validateConfig(schema, parseConfigText(text, source), source);
}

/**
 * Reads a configuration file's text. A missing or unreadable file is CONFIG_UNREADABLE, which the
 * CLI exits with status 2 for: the operator must fix it, and a supervisor restarting the process
 * in a loop would only hide it.
 */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RelayError(
      'CONFIG_UNREADABLE',
      `cannot read configuration file ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      { cause: err, details: { source: file, ...(code ? { code } : {}) } },
    );
  }
}

/** Reads a YAML file and validates it against `schema`. */
export async function loadConfigFile<S extends z.ZodType>(
  schema: S,
  file: string,
): Promise<Readonly<z.output<S>>> {
  return parseConfig(schema, await readConfigText(file), file);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
