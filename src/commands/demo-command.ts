import { runDemo } from '../demo/demo.js';

/** `logrelay demo [--json] [--lines N] [--dir DIR]` */
export async function demoCommand(options: {
  json?: boolean;
  lines: string;
  dir?: string;
}): Promise<number> {
  const linesPerFile = Number(options.lines);
  if (!Number.isInteger(linesPerFile) || linesPerFile < 1) {
    process.stderr.write(
      `logrelay demo: --lines must be a positive integer, got ${options.lines}\n`,
    );
    return 2;
  }
  const summary = await runDemo({
    linesPerFile,
    ...(options.dir ? { dir: options.dir } : {}),
    progress: !options.json || process.stderr.isTTY === true,
  });
  const ok = summary.missing === 0 && summary.duplicated === 0;
  if (!options.json) {
    process.stdout.write(
      [
        '',
        `lines written     ${summary.written}`,
        `lines delivered   ${summary.delivered}`,
        `missing           ${summary.missing}`,
        `duplicated        ${summary.duplicated}`,
        `latency p50/p99   ${summary.p50Ms} ms / ${summary.p99Ms} ms (write → committed by the sink)`,
        `output            ${summary.output}`,
        `took              ${summary.seconds} s`,
        ok ? 'every line arrived exactly once' : 'LINES WERE LOST OR DUPLICATED',
        '',
      ].join('\n'),
    );
  } else {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  }
  return ok ? 0 : 1;
}
