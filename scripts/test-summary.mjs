// Reads vitest's JSON report and prints per-suite counts and the closing line CI reads:
// "tests: N passed, N failed, N skipped". Exits non-zero when anything failed, was skipped or
// when no test ran at all — in CI a skipped integration test is a failure, never a pass.
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
const reports = files.map((file) => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // A run that crashed before writing its report counts as a failure, never as nothing.
    console.log(`no test report in ${file}`);
    return { testResults: [{ name: file, status: 'failed', assertionResults: [] }] };
  }
});
const suites = {};
let passed = 0;
let failed = 0;
let skipped = 0;
// Named again at the very end: CI keeps only the tail of a long log.
const failures = [];
for (const result of reports.flatMap((r) => r.testResults)) {
  const suite = /\/test\/([^/]+)\//.exec(result.name)?.[1] ?? 'other';
  suites[suite] ??= { passed: 0, failed: 0, skipped: 0, files: 0 };
  suites[suite].files += 1;
  if (result.assertionResults.length === 0 && result.status === 'failed') {
    // A file that failed before any test ran (e.g. an import error) counts as one failure.
    suites[suite].failed += 1;
    failed += 1;
    failures.push(`${result.name}: ${firstLine(result.message)}`);
  }
  for (const t of result.assertionResults) {
    const kind = t.status === 'passed' ? 'passed' : t.status === 'failed' ? 'failed' : 'skipped';
    suites[suite][kind] += 1;
    if (kind === 'passed') passed += 1;
    else if (kind === 'failed') {
      failed += 1;
      failures.push(
        `${result.name.replace(/^.*\/test\//, 'test/')} > ${t.fullName}: ${firstLine(t.failureMessages?.[0])}`,
      );
    } else skipped += 1;
  }
}
for (const [name, s] of Object.entries(suites).sort()) {
  console.log(
    `${name}: ${s.files} files, ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`,
  );
}
for (const failure of failures) console.log(`failed: ${failure}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (failed > 0 || skipped > 0 || passed === 0) process.exit(1);

function firstLine(text) {
  return String(text ?? '')
    .split('\n')[0]
    .slice(0, 300);
}
