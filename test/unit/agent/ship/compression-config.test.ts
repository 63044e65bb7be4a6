import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../../../src/agent/config.js';
import { ConfigError } from '../../../../src/common/config/config-error.js';
import { parseConfig } from '../../../../src/common/config/load-config.js';
import { compressionOptions } from '../../../../src/common/wire/index.js';

// Issue 15 item 6: wire compression between agent and collector.
describe('ship.compression', () => {
  const base = 'collectors: ["127.0.0.1:1"]\n';

  it('defaults to none', () => {
    expect(parseConfig(agentConfigSchema, base).ship.compression).toBe('none');
  });

  it.each(['none', 'gzip', 'deflate'] as const)('takes %s', (compression) => {
    const config = parseConfig(agentConfigSchema, `${base}ship: { compression: ${compression} }\n`);
    expect(config.ship.compression).toBe(compression);
  });

  it('refuses an algorithm grpc-js cannot do, naming the key path', () => {
    let error: unknown;
    try {
      parseConfig(agentConfigSchema, `${base}ship: { compression: zstd }\n`);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['ship.compression']);
  });

  it("maps to grpc-js's default_compression_algorithm (0 identity, 1 deflate, 2 gzip)", () => {
    expect(compressionOptions('none')).toEqual({});
    expect(compressionOptions('deflate')).toEqual({ 'grpc.default_compression_algorithm': 1 });
    expect(compressionOptions('gzip')).toEqual({ 'grpc.default_compression_algorithm': 2 });
  });
});
