import { describe, expect, it } from 'vitest';
import { memberInfoSchema } from '../../../../src/common/cluster/index.js';
import { validateConfig } from '../../../../src/common/config/load-config.js';
import { sinkConfigSchema, sinkGuarantee } from '../../../../src/collector/sinks/registry.js';

const sink = (config: Record<string, unknown>) => validateConfig(sinkConfigSchema, config);

describe('sink guarantees as status and the dashboard show them', () => {
  it('names exactly-once only where a retransmitted batch is stored once across collectors', () => {
    expect(sinkGuarantee(sink({ type: 'kafka', name: 'k', exactlyOnce: true }))).toBe(
      'exactly-once',
    );
    expect(sinkGuarantee(sink({ type: 'kafka', name: 'k' }))).toBe('at-least-once');
    expect(sinkGuarantee(sink({ type: 'file', name: 'f', directory: '/tmp/x' }))).toBe(
      'at-least-once',
    );
    expect(sinkGuarantee(sink({ type: 'null', name: 'n' }))).toBe('none');
    // Row keys derived from (stream key, offset): a resent line overwrites its own row.
    expect(sinkGuarantee(sink({ type: 'hbase', name: 'h' }))).toBe('exactly-once');
    // _id derived from (stream key, offset): a resent line is a duplicate key, already written.
    expect(sinkGuarantee(sink({ type: 'mongodb', name: 'm' }))).toBe('exactly-once');
  });

  it('reads the member node of a collector that does not report its sinks (older)', () => {
    const member = memberInfoSchema.parse({
      id: 'c1',
      address: 'a:1',
      startedAt: 't',
      updatedAt: 't',
      load: { bytesPerSec: 0, agents: 0, connections: 0, inFlightBytes: 0, maxInFlightBytes: 1 },
    });
    expect(member.sinks).toEqual([]);
  });
});
