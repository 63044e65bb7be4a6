import { afterAll, describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));

// The project's own lint config must catch a promise nobody handles: that needs type
// information, which a config can silently lack (the rules are then simply not run).
describe('lint config: promise rules', () => {
  const eslint = new ESLint({ cwd: root });

  // The type-aware parser only lints files of the TypeScript project, so the fixture is a real
  // file under test/ for the duration of the test.
  const fixture = `${root}test/unit/lint/fixture-${process.pid}.ts`;
  afterAll(() => rmSync(fixture, { force: true }));

  async function ruleIds(code: string): Promise<string[]> {
    writeFileSync(fixture, code);
    const [result] = await eslint.lintFiles([fixture]);
    return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
  }

  it('reports a floating promise', async () => {
    const ids = await ruleIds(
      'async function work(): Promise<void> {}\nexport function run(): void {\n  work();\n}\n',
    );
    expect(ids).toContain('@typescript-eslint/no-floating-promises');
  }, 60_000);

  it('reports a promise passed where a void callback is expected', async () => {
    const ids = await ruleIds(
      'export function run(): void {\n  setTimeout(async () => {\n    await Promise.resolve();\n  }, 1);\n  [1].forEach(async () => {});\n}\n',
    );
    expect(ids).toContain('@typescript-eslint/no-misused-promises');
  }, 60_000);

  it('accepts a promise explicitly marked as not awaited', async () => {
    const ids = await ruleIds(
      'async function work(): Promise<void> {}\nexport function run(): void {\n  void work();\n}\n',
    );
    expect(ids).toEqual([]);
  }, 60_000);
});
