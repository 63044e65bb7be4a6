import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../../../src/agent/config.js';
import { ConfigError } from '../../../../src/common/config/config-error.js';
import { parseConfig } from '../../../../src/common/config/load-config.js';

const head = [
  'collectors: ["127.0.0.1:1"]',
  'tails:',
  '  - paths: [/var/log/app.log]',
  '    topic: app',
];

function issues(lines: string[]): string[] {
  try {
    parseConfig(agentConfigSchema, [...head, ...lines, ''].join('\n'));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((i) => i.path);
  }
  return [];
}

describe('a tail’s record-stage keys', () => {
  it('default to one UTF-8 record per line, no filters', () => {
    const config = parseConfig(agentConfigSchema, [...head, ''].join('\n'));
    expect(config.tails[0]).toMatchObject({
      encoding: 'utf-8',
      format: 'raw',
      includeLines: [],
      excludeLines: [],
    });
    expect(config.tails[0]?.multiline).toBeUndefined();
    expect(config.tails[0]?.kubernetesMetadata).toBeUndefined();
  });

  it('take a container format and the Kubernetes switch', () => {
    const config = parseConfig(
      agentConfigSchema,
      [...head, '    format: cri', '    kubernetesMetadata: false', ''].join('\n'),
    );
    expect(config.tails[0]).toMatchObject({ format: 'cri', kubernetesMetadata: false });
  });

  it('take a preset with the limits’ defaults', () => {
    const config = parseConfig(
      agentConfigSchema,
      [...head, '    multiline: { preset: java }', '    encoding: gbk', ''].join('\n'),
    );
    expect(config.tails[0]?.multiline).toEqual({
      preset: 'java',
      maxLines: 500,
      maxBytes: 1024 * 1024,
      flushTimeoutMs: 5000,
    });
  });

  it('name the key path of a bad regex, a missing pattern, a limit over the batch, an unknown encoding', () => {
    expect(issues(['    excludeLines: ["^DEBUG", "[a-"]'])).toEqual(['tails[0].excludeLines[1]']);
    expect(issues(['    multiline: { negate: true }'])).toEqual(['tails[0].multiline.pattern']);
    expect(issues(['    multiline: { pattern: "(" }'])).toEqual(['tails[0].multiline.pattern']);
    expect(issues(['    multiline: { preset: java, maxBytes: 2000000 }'])).toEqual([
      'tails[0].multiline.maxBytes',
    ]);
    expect(issues(['    encoding: utf-32'])).toEqual(['tails[0].encoding']);
    expect(issues(['    format: json'])).toEqual(['tails[0].format']);
    expect(issues(['    kubernetesMetadata: yes please'])).toEqual(['tails[0].kubernetesMetadata']);
  });
});
