import { z } from 'zod';
import { passwordSchema, serviceTlsSchema } from '../../../common/security/index.js';
import { sinkCommonFields } from '../sink-config.js';

/**
 * Longest namespace (`<database>.<collection>`, in bytes) the sink creates: the smallest limit
 * of the servers it may meet (MongoDB before 4.4: 120 bytes; mongo-java-server: 128; MongoDB 4.4
 * and later: 255), so a name that works on one works on all.
 */
export const MONGODB_NAMESPACE_MAX_BYTES = 120;

/** Characters a collection name is made of: a topic is sanitised to these, a template must be. */
export const MONGODB_COLLECTION_PATTERN = /^[a-zA-Z0-9_.-]+$/;

/** Characters of a database name (MongoDB forbids `/\. "$*<>:|?` and NUL; we keep it simple). */
export const MONGODB_DATABASE_PATTERN = /^[a-zA-Z0-9_-]{1,63}$/;

/** The one token a collection template may contain. */
export const TOPIC_TOKEN = '{topic}';

/** Length of the `_<hash>` suffix a cut collection name ends in. */
export const HASH_SUFFIX_LENGTH = 9;

/** The template's literal parts: what is left after taking every `{topic}` out. */
function literalOf(template: string): string {
  return template.split(TOPIC_TOKEN).join('');
}

/** The longest collection name in `database` (bytes; names are ASCII). */
export function maxCollectionLength(database: string): number {
  return MONGODB_NAMESPACE_MAX_BYTES - Buffer.byteLength(database) - 1;
}

const urlSchema = z
  .string()
  .regex(
    /^mongodb(\+srv)?:\/\/[^\s/?#]+(\/[^\s?#]*)?(\?\S*)?$/,
    'expected mongodb://[user:password@]host[:port][,host...][/authdb][?options] or mongodb+srv://',
  )
  .default('mongodb://127.0.0.1:27017')
  .describe(
    'Server(s) as a MongoDB connection string, mongodb://[user:password@]host[:port][,...]' +
      '[/authdb][?options] or mongodb+srv://...; credentials in it are never logged. ' +
      'Default: mongodb://127.0.0.1:27017.',
  );

/** `writeConcern` of every insert: when the server acknowledges a write. */
const writeConcernSchema = z
  .strictObject({
    /**
     * Members that must have the write: `majority` or a number (1 = the primary alone; 0, an
     * unacknowledged write, is not allowed: nothing would say the line is stored). Default:
     * majority.
     */
    w: z
      .union([z.literal('majority'), z.number().int().min(1).max(50)])
      .default('majority')
      .describe('Members that must have each write: majority or a number >= 1. Default: majority.'),
    /** The write must be in the on-disk journal before it is acknowledged. Default: true. */
    journal: z
      .boolean()
      .default(true)
      .describe('Acknowledge only once in the on-disk journal (j). Default: true.'),
    /**
     * How long the server waits for `w` members before it answers with a write-concern error
     * (ms; the write then fails retriable). Default: unset (the server's default: no limit).
     */
    wtimeoutMs: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        'Server-side wait for w members (ms); then the write fails retriable. Default: unset.',
      ),
  })
  .describe('Write concern of every insert.');

/** `auth`: credentials given apart from the URL. */
const authSchema = z
  .strictObject({
    /** User name. Required. */
    username: z.string().min(1).describe('User name. Required.'),
    /** Its password: `{ value }` or `{ file }`. Required. */
    password: passwordSchema.describe('Its password: { value } or { file }. Required.'),
    /** Database the user is defined in (authSource). Default: admin. */
    source: z
      .string()
      .min(1)
      .default('admin')
      .describe('Database the user is defined in (authSource). Default: admin.'),
    /** Authentication mechanism. Default: unset (the server negotiates, SCRAM-SHA-256 or -1). */
    mechanism: z
      .enum(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'])
      .optional()
      .describe(
        'Mechanism: SCRAM-SHA-256, SCRAM-SHA-1 or PLAIN. Default: negotiated with the server.',
      ),
  })
  .describe('Credentials apart from the URL.');

/**
 * `sinks[]` entry of type `mongodb`: one document per line in a collection per topic
 * (DESIGN.md "Records in the sinks"), `_id` derived from the stream key and the offset, so a
 * retransmitted line is a duplicate key the sink counts as already written: exactly-once by
 * construction.
 */
export const mongodbSinkConfigSchema = z
  .strictObject({
    /** Discriminator of the `sinks[]` entry. */
    type: z.literal('mongodb').describe('Sink type: mongodb.'),
    ...sinkCommonFields,
    /** mongodb:// or mongodb+srv:// connection string. Default: mongodb://127.0.0.1:27017. */
    url: urlSchema,
    /** Database the collections are in. Default: logrelay. */
    database: z
      .string()
      .regex(MONGODB_DATABASE_PATTERN, 'a database name is 1-63 characters of a-z, A-Z, 0-9, _, -')
      .default('logrelay')
      .describe('Database of the collections (1-63 of a-z A-Z 0-9 _ -). Default: logrelay.'),
    /**
     * Collection name; `{topic}` is replaced by the topic with every character outside
     * [a-zA-Z0-9_.-] (so `$` and NUL, which MongoDB forbids) replaced by `_`. A namespace
     * (`<database>.<collection>`) longer than 120 bytes is cut and given a hash suffix, so
     * distinct long topics keep distinct collections. Default: logs_{topic}.
     */
    collectionTemplate: z
      .string()
      .min(1)
      .default('logs_{topic}')
      .refine(
        (t) => MONGODB_COLLECTION_PATTERN.test(literalOf(t) || '_'),
        'only a-z, A-Z, 0-9, "_", "-", "." and the token {topic} are allowed in a collection name',
      )
      .refine(
        (t) => !t.startsWith('system.') && !t.startsWith('.'),
        'a collection name may not start with "system." (reserved) or "."',
      )
      .describe(
        'Collection name template; {topic} becomes the topic with characters outside ' +
          '[a-zA-Z0-9_.-] replaced by _ (database.collection at most 120 bytes, longer names ' +
          'cut with a hash suffix). Default: logs_{topic}.',
      ),
    /**
     * `json`: `{_id, line, stream, agent, host, path, offset, time}` and, when the agent's tail
     * has fields, `fields: {..}`; `raw`: `{_id, line}`.
     * `line` is a string when the bytes are valid UTF-8, otherwise a BSON Binary of the exact
     * bytes. Default: json.
     */
    format: z
      .enum(['json', 'raw'])
      .default('json')
      .describe(
        'json = {_id, line, stream, agent, host, path, offset, time}, plus fields: {..} when ' +
          'the agent’s tail has fields; raw = {_id, line}. line is a string if valid UTF-8, ' +
          'else BSON Binary of the exact bytes. Default: json.',
      ),
    /** When the server acknowledges an insert. Default: { w: majority, journal: true }. */
    writeConcern: writeConcernSchema
      .prefault({})
      .describe(
        'Write concern of every insert {w, journal, wtimeoutMs}. Default: w majority, journal.',
      ),
    /**
     * Documents expire this long after their `time` (a TTL index on `time`); only with format
     * json and createIndexes. Default: unset (kept forever).
     */
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        'Expire documents this long after time via a TTL index (s); format json and ' +
          'createIndexes only. Default: unset (kept).',
      ),
    /**
     * Create each collection's indexes (`time`, with the TTL when set) on its first write.
     * Default: true.
     */
    createIndexes: z
      .boolean()
      .default(true)
      .describe(
        'Create the index on time (TTL if ttlSeconds) on the first write to a collection. ' +
          'Default: true.',
      ),
    /** TLS to the server: { ca, cert, key, rejectUnauthorized }. Default: unset (plaintext). */
    tls: serviceTlsSchema
      .optional()
      .describe('TLS to the server {ca, cert, key, rejectUnauthorized}. Default: unset.'),
    /** Credentials apart from the URL. Default: unset. */
    auth: authSchema
      .optional()
      .describe(
        'Credentials {username, password, source, mechanism}, instead of in the url. ' +
          'Default: unset.',
      ),
    /** Documents per insertMany call (the driver splits further by message size). Default: 1000. */
    maxDocumentsPerInsert: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(1000)
      .describe('Most documents in one insertMany (documents). Default: 1000.'),
    /**
     * Timeout of opening a connection, and of finding a server to write to: in an outage a write
     * fails retriable after about this long. Default: 5000.
     */
    connectTimeoutMs: z
      .number()
      .int()
      .min(10)
      .default(5000)
      .describe(
        'Timeout of opening a connection and of finding a server to write to (ms). ' +
          'Default: 5000.',
      ),
    /**
     * Longest a write of one chunk of documents may take (socket timeout, and a bound on the
     * whole call); then the batch fails retriable. Default: 30000.
     */
    operationTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(30_000)
      .describe(
        'Longest one insertMany may take (ms); then the write fails retriable. Default: 30000.',
      ),
    /** Connections to the server, i.e. chunks written at once. Default: 10. */
    maxPoolSize: z
      .number()
      .int()
      .min(1)
      .max(500)
      .default(10)
      .describe('Most connections open to each server (connections). Default: 10.'),
  })
  .superRefine((config, ctx) => {
    const literal = literalOf(config.collectionTemplate);
    const max = maxCollectionLength(config.database);
    const limit = config.collectionTemplate.includes(TOPIC_TOKEN)
      ? max - HASH_SUFFIX_LENGTH - 1
      : max;
    if (literal.length > limit) {
      ctx.addIssue({
        code: 'custom',
        path: ['collectionTemplate'],
        message:
          `too long: database.collection has at most ${MONGODB_NAMESPACE_MAX_BYTES} bytes, ` +
          `leaving ${limit} for the template's characters besides {topic}`,
      });
    }
    if (config.ttlSeconds !== undefined && config.format !== 'json') {
      ctx.addIssue({
        code: 'custom',
        path: ['ttlSeconds'],
        message: 'needs format json (a raw document has no time to expire by)',
      });
    }
    if (config.ttlSeconds !== undefined && !config.createIndexes) {
      ctx.addIssue({
        code: 'custom',
        path: ['ttlSeconds'],
        message: 'needs createIndexes: true (the TTL is an index the sink creates)',
      });
    }
  })
  .describe(
    'MongoDB sink: one document per line in a collection per topic, _id from stream and offset.',
  );

export type MongodbSinkConfig = z.output<typeof mongodbSinkConfigSchema>;

/** The input shape (defaults optional), for building configs in code and tests. */
export type MongodbSinkConfigInput = z.input<typeof mongodbSinkConfigSchema>;
