import type { SinkContext } from '../sink.js';
import type { MongodbSinkConfig } from './config.js';
import { MongodbSink } from './mongodb-sink.js';

export {
  MONGODB_COLLECTION_PATTERN,
  MONGODB_DATABASE_PATTERN,
  MONGODB_NAMESPACE_MAX_BYTES,
  TOPIC_TOKEN,
  maxCollectionLength,
  mongodbSinkConfigSchema,
} from './config.js';
export type { MongodbSinkConfig, MongodbSinkConfigInput } from './config.js';
export { MongodbSink } from './mongodb-sink.js';
export { documentWriteErrors, errorCode, isDuplicateId, toRelayError } from './errors.js';
export {
  MAX_DOCUMENT_BYTES,
  buildDocument,
  checkedDocument,
  collectionName,
  documentId,
  lineValue,
} from './documents.js';
export type { JsonDocument, LineDocument, RawDocument } from './documents.js';

/** Builds a MongoDB sink from its validated config entry (see `mongodbSinkConfigSchema`). */
export function createMongodbSink(config: MongodbSinkConfig, ctx: SinkContext): MongodbSink {
  return new MongodbSink(config, ctx);
}
