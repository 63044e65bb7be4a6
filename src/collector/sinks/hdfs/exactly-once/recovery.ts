import { RelayError, isRetriable } from '../../../../common/errors/relay-error.js';
import type { Logger } from '../../../../common/logging/logger.js';
import { CreateMode, ZkError, type ZkSession } from '../../../../common/zk/index.js';
import type { WebHdfsApi } from '../webhdfs-client.js';
import type { LedgerPaths } from './commit-store.js';
import { decodeFileNode, type FileNode } from './stream-marks.js';

// Closing the files of dead writers: a collector killed, or one whose ZooKeeper session
// expired. Any live writer of the sink may do it; an ephemeral lock makes it one at a time.

/** What one pass did. */
export interface RecoveryPass {
  /** Final paths of files closed (cut back to their committed length first). */
  readonly closed: string[];
  /** Files deleted: nothing of them was committed. */
  readonly deleted: string[];
  /** Files that could not be recovered yet (lease still held, HDFS down): tried next pass. */
  readonly pending: string[];
}

export interface RecoveryDeps {
  readonly session: ZkSession;
  readonly paths: LedgerPaths;
  readonly client: WebHdfsApi;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  readonly stopped: () => boolean;
  /** A file was closed under its final name (for Hive partitions). */
  readonly onClosed?: (finalPath: string) => void;
}

function codeOf(err: unknown): string | undefined {
  return err instanceof RelayError ? err.code : undefined;
}

/**
 * Finds writers with files in the ledger and no writer node (their session is gone, so they
 * can commit nothing more), and for each one that no one else is recovering: every file is
 * fenced, cut back to its committed length and closed, then forgotten.
 */
export async function recoverDeadWriters(deps: RecoveryDeps): Promise<RecoveryPass> {
  const { session, paths, log } = deps;
  const pass: RecoveryPass = { closed: [], deleted: [], pending: [] };
  // Files first, writers second: a writer registers its writer node before its folder.
  const withFiles = await session.getChildren(paths.files);
  const live = new Set(await session.getChildren(paths.writers));
  for (const incarnation of withFiles) {
    if (live.has(incarnation) || deps.stopped()) continue;
    const lock = `${paths.recovering}/${incarnation}`;
    try {
      await session.create(lock, Buffer.alloc(0), CreateMode.EPHEMERAL);
    } catch (err) {
      if (codeOf(err) === 'ZK_NODE_EXISTS') continue;
      throw err;
    }
    try {
      await recoverWriter(deps, incarnation, pass);
    } finally {
      await session.remove(lock).catch(() => undefined);
    }
  }
  if (pass.closed.length + pass.deleted.length > 0)
    log.info(
      { closed: pass.closed.length, deleted: pass.deleted.length, pending: pass.pending.length },
      'recovered the files of dead HDFS writers',
    );
  return pass;
}

async function recoverWriter(
  deps: RecoveryDeps,
  incarnation: string,
  pass: RecoveryPass,
): Promise<void> {
  const { session, paths, log } = deps;
  const folder = `${paths.files}/${incarnation}`;
  let children: string[];
  try {
    children = await session.getChildren(folder);
  } catch (err) {
    if (codeOf(err) === 'ZK_NO_NODE') return;
    throw err;
  }
  let left = 0;
  for (const child of children.sort()) {
    if (deps.stopped()) return;
    const node = `${folder}/${child}`;
    let entry: FileNode | undefined;
    try {
      entry = decodeFileNode((await session.getData(node)).data);
    } catch (err) {
      if (codeOf(err) === 'ZK_NO_NODE') continue;
      throw err;
    }
    if (!entry) {
      log.error({ node }, 'unreadable file entry in the HDFS ledger; leaving it');
      left++;
      continue;
    }
    try {
      const result = await recoverFile(deps, entry);
      if (result === 'closed') {
        pass.closed.push(entry.final);
        deps.onClosed?.(entry.final);
      } else if (result === 'deleted') pass.deleted.push(entry.inProgress);
      await session.remove(node);
    } catch (err) {
      left++;
      pass.pending.push(entry.inProgress);
      if (!(err instanceof ZkError) && !isRetriable(err))
        log.error({ err, file: entry.inProgress }, 'cannot recover a dead writer’s HDFS file');
      else
        log.warn(
          { err, file: entry.inProgress },
          'cannot recover a dead writer’s HDFS file yet; trying again later',
        );
    }
  }
  if (left === 0) await session.remove(folder).catch(() => undefined);
}

/**
 * One file of a dead writer:
 * 1. renamed from its in-progress name to its recovering name, so that an APPEND still on its
 *    way (the writer's last request) fails instead of landing after the cut;
 * 2. cut back to the committed length: whatever lies past it was never acknowledged, and its
 *    agents send those lines again;
 * 3. renamed to its final name (deleted when nothing of it was committed).
 * Each step is idempotent: a recovery that dies halfway is finished by the next one.
 */
export async function recoverFile(
  deps: RecoveryDeps,
  entry: FileNode,
): Promise<'closed' | 'deleted' | 'absent'> {
  const { client, log } = deps;
  if (await client.getFileStatus(entry.inProgress)) {
    if (!(await client.rename(entry.inProgress, entry.recovering))) {
      if (!(await client.getFileStatus(entry.recovering)))
        throw new RelayError(
          'HDFS_CONFLICT',
          `cannot move ${entry.inProgress} to ${entry.recovering}: the name is taken`,
        );
    }
  }
  const status = await client.getFileStatus(entry.recovering);
  if (!status) {
    // Never created (the writer died before its first CREATE), or closed already by an
    // earlier pass whose last step was lost.
    if (entry.length > 0 && !(await client.getFileStatus(entry.final)))
      log.error(
        { file: entry.inProgress, committedBytes: entry.length },
        'a dead writer’s HDFS file is gone though bytes of it were committed',
      );
    return 'absent';
  }
  if (status.length < entry.length) {
    // The NameNode reports the length of a file whose last block is still being written (its
    // writer died mid-request) as of its last complete block. An empty APPEND asks the
    // NameNode to recover the dead client's lease, which settles the true length.
    await client.append(entry.recovering, []).catch(() => undefined);
    throw new RelayError(
      'HDFS_LENGTH_BEHIND',
      `${entry.recovering} reports ${status.length} bytes, ${entry.length} were committed`,
      { retriable: true },
    );
  }
  // Even at the committed length: TRUNCATE is how a file still open for a dead client is made
  // to close first (it fails until the lease is recovered), so no late block can add to it
  // after it is visible. A closed file at that length is left as it is.
  await client.truncateAndWait(entry.recovering, entry.length, deps.requestTimeoutMs);
  if (status.length > entry.length)
    log.info(
      { file: entry.recovering, from: status.length, to: entry.length },
      'cut a dead writer’s HDFS file back to its committed length',
    );
  if (entry.length === 0) {
    await client.delete(entry.recovering);
    return 'deleted';
  }
  if (!(await client.rename(entry.recovering, entry.final))) {
    if (await client.getFileStatus(entry.recovering))
      throw new RelayError(
        'HDFS_CONFLICT',
        `cannot close ${entry.recovering}: ${entry.final} exists`,
      );
  }
  log.info({ path: entry.final }, 'closed a dead writer’s HDFS file');
  return 'closed';
}
