import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './processes.js';

const exec = promisify(execFile);

/**
 * `hdfs dfs <args>` against the test bed, without a Hadoop install: Hadoop's FsShell run from
 * the jars and the configuration scripts/services.sh put in place (its lib and conf folders).
 * Resolves to stdout (as bytes); rejects with stderr when the command fails.
 */
export async function hdfsDfs(...args: string[]): Promise<Buffer> {
  const cache = process.env['LOGRELAY_CACHE_DIR'] ?? join(homedir(), '.cache', 'logrelay');
  const services = process.env['LOGRELAY_SERVICES_DIR'] ?? join(repoRoot, '.services');
  const classpath = `${join(services, 'hdfs', 'conf')}:${join(cache, 'hdfs', 'lib', '*')}`;
  const { stdout } = await exec(
    'java',
    ['-Xmx256m', '-cp', classpath, 'org.apache.hadoop.fs.FsShell', ...args],
    {
      encoding: 'buffer',
      env: { ...process.env, HADOOP_USER_NAME: 'logrelay' },
      maxBuffer: 256 * 1024 * 1024,
      timeout: 120_000,
    },
  );
  return stdout;
}
