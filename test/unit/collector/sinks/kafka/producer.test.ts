import kafkajs from 'kafkajs';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../../../src/common/errors/relay-error.js';
import { pinoLogCreator, toRelayError } from '../../../../../src/collector/sinks/kafka/producer.js';

// kafkajs's error classes are spread into its CommonJS exports, which ESM cannot name-import.
const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, logLevel } =
  kafkajs;

const protocolError = (type: string, retriable: boolean) =>
  new KafkaJSProtocolError(Object.assign(new Error(type.toLowerCase()), { type, retriable }));

describe('toRelayError', () => {
  it('makes connection failures retriable although kafkajs gave up (non-retriable wrapper)', () => {
    const cause = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1');
    const gaveUp = new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 100 });
    expect(gaveUp.retriable).toBe(false);
    const error = toRelayError(gaveUp, 'producing to t');
    expect(error).toBeInstanceOf(RelayError);
    expect(error.code).toBe('SINK_UNAVAILABLE');
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.details).toMatchObject({ kafkaError: 'KafkaJSConnectionError', retries: 5 });
    expect(error.cause).toBe(gaveUp);
  });

  it('keeps broker-side outages retriable, also ones kafkajs marks non-retriable', () => {
    for (const type of ['NOT_LEADER_FOR_PARTITION', 'REQUEST_TIMED_OUT', 'NOT_ENOUGH_REPLICAS']) {
      expect(toRelayError(protocolError(type, true), 'x').retriable, type).toBe(true);
    }
    const auth = toRelayError(protocolError('TOPIC_AUTHORIZATION_FAILED', false), 'x');
    expect(auth.retriable).toBe(true);
    expect(auth.code).toBe('SINK_UNAVAILABLE');
  });

  it('makes errors caused by the records permanent', () => {
    for (const type of ['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_TOPIC_EXCEPTION']) {
      const error = toRelayError(protocolError(type, false), 'x');
      expect(error.code, type).toBe('SINK_REJECTED');
      expect(error.retriable, type).toBe(false);
      expect(error.details).toMatchObject({ kafkaType: type });
    }
    const wrapped = new KafkaJSNumberOfRetriesExceeded(protocolError('MESSAGE_TOO_LARGE', false), {
      retryCount: 0,
      retryTime: 0,
    });
    expect(toRelayError(wrapped, 'x').code).toBe('SINK_REJECTED');
  });

  it('treats non-Kafka errors as internal and keeps RelayErrors', () => {
    const bug = toRelayError(new TypeError('undefined is not a function'), 'x');
    expect(bug.code).toBe('SINK_INTERNAL');
    expect(bug.retriable).toBe(false);
    const relay = new RelayError('SINK_NOT_RUNNING', 'stopped', { retriable: true });
    expect(toRelayError(relay, 'x')).toBe(relay);
  });
});

describe('pinoLogCreator', () => {
  it("routes kafkajs's lines to pino without its own timestamp; its errors to debug, counted", () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const log = pino({ level: 'debug' }, sink);
    const errors: string[] = [];
    const write = pinoLogCreator(log, (ns) => errors.push(ns))(logLevel.DEBUG);
    const entry = (message: string) => ({
      timestamp: 't',
      logger: 'kafkajs',
      message,
      broker: 'b:1',
    });
    write({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: entry('e') });
    write({ namespace: 'Producer', level: logLevel.WARN, label: 'WARN', log: entry('w') });
    write({ namespace: 'Cluster', level: logLevel.INFO, label: 'INFO', log: entry('i') });
    write({ namespace: 'Cluster', level: logLevel.DEBUG, label: 'DEBUG', log: entry('d') });
    expect(lines.map((l) => [l['level'], l['msg'], l['kafkajs'], l['broker']])).toEqual([
      [20, 'e', 'Connection', 'b:1'],
      [40, 'w', 'Producer', 'b:1'],
      [30, 'i', 'Cluster', 'b:1'],
      [20, 'd', 'Cluster', 'b:1'],
    ]);
    expect(lines.every((l) => !('timestamp' in l) && !('logger' in l))).toBe(true);
    expect(lines[0]).toMatchObject({ kafkajsLevel: 'error' });
    expect(errors).toEqual(['Connection']);
  });
});
