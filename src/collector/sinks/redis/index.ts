import type { SinkContext } from '../sink.js';
import type { RedisSinkConfig } from './config.js';
import { RedisSink } from './redis-sink.js';

export { redisSinkConfigSchema } from './config.js';
export type { RedisSinkConfig, RedisSinkConfigInput } from './config.js';
export { RedisSink, toRelayError } from './redis-sink.js';
export { APPEND_SCRIPT, buildScriptArgs, marksKey, redisKey } from './records.js';
export type { JsonListElement } from './records.js';

/** Builds a Redis sink from its validated config entry (see `redisSinkConfigSchema`). */
export function createRedisSink(config: RedisSinkConfig, ctx: SinkContext): RedisSink {
  return new RedisSink(config, ctx);
}
