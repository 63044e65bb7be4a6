/** The agent's file-reading core: line splitting, file identity, rotation decisions, tailing. */
export {
  DEFAULT_MAX_LINE_BYTES,
  LineSplitter,
  TailErrorCode,
  checkFileOffset,
  lineEnd,
} from './line-splitter.js';
export type { Line, LineSplitterOptions, LongLinePolicy, SplitterStats } from './line-splitter.js';
export {
  DEFAULT_FINGERPRINT_BYTES,
  hashPrefix,
  identityOf,
  probeFile,
  sameFile,
  sameInode,
  streamKey,
} from './fingerprint.js';
export type { FileIdentity, FileProbe, InodeRef, ProbeOptions } from './fingerprint.js';
export {
  classifyPath,
  decideResume,
  detectTruncation,
  findByInode,
  probePath,
} from './rotation.js';
export type {
  PathChange,
  PathProbe,
  ResumeDecision,
  ResumePoint,
  StatLike,
  TrackedFile,
  Truncation,
  TruncationCause,
} from './rotation.js';
export { DEFAULT_CHUNK_BYTES, DEFAULT_READ_LINES, FileTailer } from './file-reader.js';
export type {
  FileTailerOptions,
  ReadLinesResult,
  TailerStats,
  TruncationEvent,
} from './file-reader.js';
