import { z } from 'zod';
import { sinkCommonFields } from '../sink-config.js';

/** `sinks[]` entry of type `redis`: one Redis Stream entry (or list element) per line. */
export const redisSinkConfigSchema = z
  .strictObject({
    type: z.literal('redis').describe('Sink type: redis.'),
    ...sinkCommonFields,
    /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. */
    url: z
      .string()
      .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
      .default('redis://127.0.0.1:6379')
      .describe(
        'Server URL, redis://[user:password@]host:port[/db] (rediss:// for TLS). ' +
          'Default: redis://127.0.0.1:6379.',
      ),
    /**
     * `stream`: XADD one entry per line with the fields line (exact bytes), agent, host, path,
     * offset and time, then `fields.<key>` per field of the agent's tail. `list`: RPUSH one
     * element per line (see `format`).
     */
    mode: z
      .enum(['stream', 'list'])
      .default('stream')
      .describe(
        'stream = XADD an entry per line with fields line (exact bytes), agent, host, path, ' +
          'offset, time, and fields.<key> per field of the agent’s tail; list = RPUSH an ' +
          'element per line. Default: stream.',
      ),
    /**
     * Key of the stream or list. Token: `{topic}`. The dedup marks of the key live in the hash
     * `<key>:marks`.
     */
    keyTemplate: z
      .string()
      .min(1)
      .default('logrelay:{topic}')
      .describe(
        'Key of the stream or list; {topic} is replaced by the tail topic. The dedup marks ' +
          'live in the hash <key>:marks. Default: logrelay:{topic}.',
      ),
    /** Stream mode: XADD ... MAXLEN ~ maxLen (approximate trimming). Default: no trimming. */
    maxLen: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Stream mode: trim with XADD MAXLEN ~ <maxLen> (entries). Default: no trimming.'),
    /**
     * List mode element: `json` = {agent, host, path, offset, time, line} with the line decoded
     * as UTF-8 (invalid sequences become U+FFFD), plus `fields` when the agent's tail has some;
     * `raw` = the line's exact bytes, no metadata. Stream entries always keep the exact bytes and
     * the metadata in separate entry fields.
     */
    format: z
      .enum(['json', 'raw'])
      .default('json')
      .describe(
        'List mode element: json = {agent, host, path, offset, time, line} (line decoded as ' +
          'UTF-8, invalid bytes become U+FFFD), plus fields: {..} when the agent’s tail has ' +
          'fields; raw = the exact line bytes without metadata. Stream mode ignores it. ' +
          'Default: json.',
      ),
    /** Timeout of the TCP connection (ms). Default: 1000. */
    connectTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe('Timeout of a TCP connection to Redis (ms). Default: 1000.'),
    /** Timeout of one command, i.e. one batch (ms). Default: 10000. */
    commandTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe('Timeout of one command, i.e. of writing one batch (ms). Default: 10000.'),
  })
  .describe('Redis sink: a Stream entry or list element per line, a batch written atomically.');

export type RedisSinkConfig = z.output<typeof redisSinkConfigSchema>;

/** The input shape (defaults optional), for building configs in code and tests. */
export type RedisSinkConfigInput = z.input<typeof redisSinkConfigSchema>;
