import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/common/config/config-error.js';
import { isRetriable, RelayError } from '../../../src/common/errors/relay-error.js';

describe('RelayError', () => {
  it('carries a stable code, a retriable flag and the cause', () => {
    const cause = new Error('ECONNREFUSED');
    const err = new RelayError('SINK_UNAVAILABLE', 'kafka is down', { retriable: true, cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('RelayError');
    expect(err.code).toBe('SINK_UNAVAILABLE');
    expect(err.retriable).toBe(true);
    expect(err.cause).toBe(cause);
    expect(isRetriable(err)).toBe(true);
    expect(err.toJSON()).toEqual({
      name: 'RelayError',
      code: 'SINK_UNAVAILABLE',
      message: 'kafka is down',
      retriable: true,
    });
  });

  it('is permanent by default, and unknown errors are not retriable', () => {
    expect(new RelayError('X', 'x').retriable).toBe(false);
    expect(isRetriable(new Error('plain'))).toBe(false);
  });

  it('wraps foreign errors once and keeps RelayErrors as they are', () => {
    const original = new RelayError('A', 'a');
    expect(RelayError.from(original)).toBe(original);
    const wrapped = RelayError.from('boom', 'IO', true);
    expect(wrapped).toMatchObject({ code: 'IO', message: 'boom', retriable: true, cause: 'boom' });
  });

  it('subclasses keep their own name and code', () => {
    const err = new ConfigError('x.yaml', [{ path: 'a.b', message: 'unknown key' }]);
    expect(err).toBeInstanceOf(RelayError);
    expect(err.name).toBe('ConfigError');
    expect(err.code).toBe('CONFIG_INVALID');
  });
});
