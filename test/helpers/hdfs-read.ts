import type { WebHdfsClient } from '../../src/collector/sinks/hdfs/webhdfs-client.js';

/**
 * The lines of the closed files in one HDFS folder, read as Hive reads a partition: names
 * starting with `.` or `_` (files still being written) are skipped and only counted.
 */
export async function readClosedFiles(
  hdfs: WebHdfsClient,
  dir: string,
): Promise<{ lines: string[]; hidden: number }> {
  const lines: string[] = [];
  let hidden = 0;
  for (const status of (await hdfs.listStatus(dir)) ?? []) {
    if (/^[._]/.test(status.pathSuffix)) {
      hidden++;
      continue;
    }
    const data = await hdfs.read(`${dir}/${status.pathSuffix}`);
    for (const line of (data?.toString() ?? '').split('\n').slice(0, -1)) lines.push(line);
  }
  return { lines, hidden };
}
