import type { Component } from '../common/lifecycle/component.js';
import type { Logger } from '../common/logging/logger.js';

/**
 * Starts a component and keeps the process alive until SIGINT or SIGTERM, then stops it
 * gracefully (a second signal forces the exit). Resolves with the exit code.
 */
export async function runUntilSignal(component: Component, log: Logger): Promise<number> {
  await component.start();
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without a graceful stop');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'stopping');
      component.stop().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'stop failed');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
