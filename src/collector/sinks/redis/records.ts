import { RelayError } from '../../../common/errors/relay-error.js';
import { hasFields } from '../../../common/wire/index.js';
import { FIELD_PREFIX, envelopeBuilder, type JsonEnvelope } from '../envelope.js';
import type { SinkBatch } from '../sink.js';
import type { RedisSinkConfig } from './config.js';

/** The JSON list element of `mode: list, format: json` (the shared envelope, `fields` included). */
export type JsonListElement = JsonEnvelope;

/** The stream or list key of a topic: `keyTemplate` with `{topic}` replaced. */
export function redisKey(keyTemplate: string, topic: string): string {
  return keyTemplate.split('{topic}').join(topic);
}

/** The hash holding, per stream key, the end offset of the last batch committed to `key`. */
export function marksKey(key: string): string {
  return `${key}:marks`;
}

/**
 * Appends the lines of one batch to a stream or list and advances the stream's dedup mark, as
 * one atomic script: lines whose offset is below the mark were committed before (a retransmitted
 * or overlapping batch) and are skipped. Types are checked before the first write, because Redis
 * does not roll a script back when a command in it fails. Returns the number of lines appended.
 *
 * KEYS: data key, marks key. ARGV: mode, maxLen ('' = none), streamKey, endOffset, agent, host,
 * path, time, the number n of field arguments, n arguments (`fields.<key>`, value, … for the
 * batch's fields, added to every stream entry after time), then (offset, payload) per line.
 */
export const APPEND_SCRIPT = `
local key, marks = KEYS[1], KEYS[2]
local mode = ARGV[1]
local t = redis.call('TYPE', key)['ok']
if t ~= 'none' and t ~= mode then
  return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a ' .. mode)
end
local mt = redis.call('TYPE', marks)['ok']
if mt ~= 'none' and mt ~= 'hash' then
  return redis.error_reply('WRONGTYPE ' .. marks .. ' holds a ' .. mt .. ', not a hash')
end
local stored = redis.call('HGET', marks, ARGV[3])
local mark = 0
if stored then mark = tonumber(stored) end
local maxlen = ARGV[2]
local nfield = tonumber(ARGV[9])
local appended = 0
local pending = {}
for i = 10 + nfield, #ARGV, 2 do
  if tonumber(ARGV[i]) >= mark then
    appended = appended + 1
    if mode == 'stream' and nfield > 0 then
      local entry = {'line', ARGV[i + 1], 'agent', ARGV[5], 'host', ARGV[6], 'path', ARGV[7],
        'offset', ARGV[i], 'time', ARGV[8]}
      for j = 10, 9 + nfield do entry[#entry + 1] = ARGV[j] end
      if maxlen == '' then
        redis.call('XADD', key, '*', unpack(entry))
      else
        redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', unpack(entry))
      end
    elseif mode == 'stream' then
      if maxlen == '' then
        redis.call('XADD', key, '*', 'line', ARGV[i + 1], 'agent', ARGV[5], 'host', ARGV[6],
          'path', ARGV[7], 'offset', ARGV[i], 'time', ARGV[8])
      else
        redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'line', ARGV[i + 1], 'agent', ARGV[5],
          'host', ARGV[6], 'path', ARGV[7], 'offset', ARGV[i], 'time', ARGV[8])
      end
    else
      pending[#pending + 1] = ARGV[i + 1]
      if #pending == 1000 then
        redis.call('RPUSH', key, unpack(pending))
        pending = {}
      end
    end
  end
end
if #pending > 0 then redis.call('RPUSH', key, unpack(pending)) end
if tonumber(ARGV[4]) > mark then redis.call('HSET', marks, ARGV[3], ARGV[4]) end
return appended
`;

/**
 * The script's ARGV for a batch. Stream payloads are the lines' exact bytes (views, never
 * copied or decoded); list payloads are the JSON element or, with `format: raw`, the bytes.
 * The batch's fields go to stream entries as `fields.<key>` and into JSON list elements.
 */
export function buildScriptArgs(
  batch: SinkBatch,
  config: Pick<RedisSinkConfig, 'mode' | 'format' | 'maxLen'>,
): (string | Buffer)[] {
  const { lines, offsets } = batch;
  if (offsets.length !== lines.length) {
    throw new RelayError(
      'SINK_REJECTED',
      `batch of ${batch.streamKey} has ${lines.length} lines but ${offsets.length} offsets`,
      { retriable: false, details: { streamKey: batch.streamKey } },
    );
  }
  const time = Number.isFinite(batch.readTimeMs) ? new Date(batch.readTimeMs).toISOString() : null;
  const args: (string | Buffer)[] = [
    config.mode,
    config.maxLen === undefined ? '' : String(config.maxLen),
    batch.streamKey,
    String(batch.endOffset),
    batch.agentId,
    batch.host,
    batch.path,
    time ?? '',
  ];
  // Stream entries carry the fields as entry fields `fields.<key>` (FIELD_PREFIX); list
  // elements carry them in the JSON envelope.
  if (config.mode === 'stream' && hasFields(batch.fields)) {
    const fieldArgs: string[] = [];
    for (const name in batch.fields)
      fieldArgs.push(FIELD_PREFIX + name, batch.fields[name] as string);
    args.push(String(fieldArgs.length), ...fieldArgs);
  } else args.push('0');
  const envelope =
    config.mode === 'list' && config.format === 'json' ? envelopeBuilder(batch) : undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as Buffer;
    const offset = offsets[i] as number;
    args.push(String(offset), envelope ? envelope(line, offset) : line);
  }
  return args;
}
