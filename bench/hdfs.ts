/**
 * The HDFS path, end to end, beside curl on the same NameNode and file: one WebHDFS CREATE of the
 * whole file with `curl -L -T` is the reference (the fastest a client can put these bytes into
 * HDFS through WebHDFS); then file → agent → collector (child process) → HDFS with the sink in
 * at-least-once mode and in exactly-once mode (its ledger in the test bed's ZooKeeper). Each
 * run writes under a folder of its own, and the bytes of its closed files are checked
 * afterwards against the file's.
 */
import { WebHdfsClient } from '../src/collector/sinks/hdfs/webhdfs-client.js';
import { runTool } from './reference.js';
import { benchRelay, type RelayResult } from './relay.js';

/** The test bed's WebHDFS and ZooKeeper (LOGRELAY_HDFS_HTTP_PORT, LOGRELAY_ZK_PORT). */
export const benchNamenode = `http://127.0.0.1:${process.env['LOGRELAY_HDFS_HTTP_PORT'] ?? 9870}`;
const benchZookeeper = `127.0.0.1:${process.env['LOGRELAY_ZK_PORT'] ?? 2181}`;
const ROOT = '/logrelay-bench';

function client(): WebHdfsClient {
  return new WebHdfsClient({
    namenodeUrl: benchNamenode,
    user: 'logrelay',
    requestTimeoutMs: 30_000,
  });
}

export interface CurlResult {
  seconds: number;
  bytes: number;
}

export interface HdfsRelayResult extends RelayResult {
  /** Bytes in the run's closed files afterwards (the file's size when every line is there once). */
  hdfsBytes: number;
  /** Files the run left (closed). */
  files: number;
}

/** True when the NameNode answers (the phase is skipped, with a note, when it does not). */
export async function hdfsReachable(): Promise<boolean> {
  const c = client();
  try {
    await c.listStatus('/');
    return true;
  } catch {
    return false;
  } finally {
    c.close();
  }
}

/** A folder of its own for one run. */
export function benchFolder(what: string): string {
  return `${ROOT}/${what}-${Date.now().toString(36)}`;
}

/** `curl -L -T FILE` into a WebHDFS CREATE: the NameNode redirects, curl sends the bytes. */
export async function timeCurlPut(path: string, folder: string): Promise<CurlResult> {
  const url = `${benchNamenode}/webhdfs/v1${folder}/curl.log?op=CREATE&overwrite=true&user.name=logrelay`;
  const started = process.hrtime.bigint();
  await runTool('curl', 'curl', ['-sS', '-f', '-L', '-T', path, url]);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const c = client();
  try {
    const status = await c.getFileStatus(`${folder}/curl.log`);
    return { seconds, bytes: status?.length ?? 0 };
  } finally {
    c.close();
  }
}

/** file → agent → collector → HDFS, at-least-once or exactly-once, into `folder`. */
export async function benchHdfsRelay(
  path: string,
  size: number,
  dir: string,
  timeoutMs: number,
  exactlyOnce: boolean,
  folder: string,
): Promise<HdfsRelayResult> {
  const result = await benchRelay(path, size, dir, timeoutMs, {
    topic: 'bench',
    sink: {
      type: 'hdfs',
      name: 'hdfs',
      namenodeUrl: benchNamenode,
      pathTemplate: `${folder}/{topic}/{collector}-{n}.log`,
      exactlyOnce,
      ...(exactlyOnce
        ? {
            zookeeper: {
              connect: benchZookeeper,
              root: `/logrelay-bench-${Date.now().toString(36)}`,
            },
          }
        : {}),
    },
  });
  // The collector was stopped (SIGTERM): every file is closed under its final name.
  const c = client();
  try {
    let hdfsBytes = 0;
    let files = 0;
    for (const s of (await c.listStatus(`${folder}/bench`)) ?? []) {
      if (/^[._]/.test(s.pathSuffix)) continue;
      hdfsBytes += s.length;
      files++;
    }
    return { ...result, hdfsBytes, files };
  } finally {
    c.close();
  }
}

/** Removes the bench's folders. */
export async function deleteBenchFolders(): Promise<void> {
  const c = client();
  try {
    await c.delete(ROOT, true);
  } catch {
    // Best effort: a later run removes them.
  } finally {
    c.close();
  }
}
