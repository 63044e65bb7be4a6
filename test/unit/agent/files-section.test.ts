import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../../src/agent/config.js';
import { ConfigError } from '../../../src/common/config/config-error.js';
import { parseConfig } from '../../../src/common/config/load-config.js';

// Issue 15 item 5: the `files` section bounds the descriptors and closes idle files.
describe("agent.yaml's files section", () => {
  it('defaults to 1024 descriptors and closing files idle for 5 minutes', () => {
    const defaults = parseConfig(agentConfigSchema, 'collectors: ["127.0.0.1:1"]\n');
    expect(defaults.files).toEqual({ maxOpenFiles: 1024, closeInactiveMs: 300_000 });
    const set = parseConfig(
      agentConfigSchema,
      'collectors: ["127.0.0.1:1"]\nfiles: { maxOpenFiles: 256, closeInactiveMs: 0 }\n',
    );
    expect(set.files).toEqual({ maxOpenFiles: 256, closeInactiveMs: 0 });
  });

  it('refuses bad values and unknown keys, naming each key path', () => {
    let error: unknown;
    try {
      parseConfig(
        agentConfigSchema,
        'collectors: ["127.0.0.1:1"]\nfiles: { maxOpenFiles: 0, closeInactiveMs: -1, harvesterLimit: 3 }\n',
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path).sort()).toEqual([
      'files.closeInactiveMs',
      'files.harvesterLimit',
      'files.maxOpenFiles',
    ]);
  });
});
