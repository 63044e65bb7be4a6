import { describe, expect, it } from 'vitest';
import { Component } from '../../../src/common/lifecycle/component.js';

class Probe extends Component {
  readonly calls: string[] = [];
  failStart = false;
  constructor() {
    super('probe');
  }
  protected async doStart() {
    this.calls.push('start');
    await new Promise((r) => setTimeout(r, 5));
    if (this.failStart) throw new Error('cannot bind');
  }
  protected async doStop() {
    this.calls.push('stop');
  }
}

describe('Component lifecycle', () => {
  it('stop before start is a no-op', async () => {
    const c = new Probe();
    await c.stop();
    await c.stop();
    expect(c.calls).toEqual([]);
    expect(c.state).toBe('new');
  });

  it('start and stop are idempotent, also when called concurrently', async () => {
    const c = new Probe();
    await Promise.all([c.start(), c.start()]);
    await c.start();
    expect(c.running).toBe(true);
    await Promise.all([c.stop(), c.stop()]);
    await c.stop();
    expect(c.calls).toEqual(['start', 'stop']);
    expect(c.state).toBe('stopped');
  });

  it('stop during start waits for the start, then stops', async () => {
    const c = new Probe();
    const started = c.start();
    await c.stop();
    await started;
    expect(c.calls).toEqual(['start', 'stop']);
    expect(c.state).toBe('stopped');
  });

  it('a failed start cleans up and rethrows; a later stop does nothing more', async () => {
    const c = new Probe();
    c.failStart = true;
    await expect(c.start()).rejects.toThrow('cannot bind');
    expect(c.state).toBe('stopped');
    await c.stop();
    expect(c.calls).toEqual(['start', 'stop']);
  });

  it('can be started again after a stop', async () => {
    const c = new Probe();
    await c.start();
    await c.stop();
    await c.start();
    expect(c.running).toBe(true);
    await c.stop();
    expect(c.calls).toEqual(['start', 'stop', 'start', 'stop']);
  });
});
