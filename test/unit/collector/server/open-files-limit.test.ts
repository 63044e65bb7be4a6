import { describe, expect, it } from 'vitest';
import {
  openFilesLimit,
  parseOpenFilesLimit,
} from '../../../../src/collector/server/open-files-limit.js';

const limits = (soft: string) =>
  [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max processes             63431                63431                processes ',
    `Max open files            ${soft.padEnd(20)} 1048576              files     `,
    'Max locked memory         8388608              8388608              bytes     ',
  ].join('\n');

describe('parseOpenFilesLimit', () => {
  it('reads the soft limit of open files', () => {
    expect(parseOpenFilesLimit(limits('1024'))).toBe(1024);
    expect(parseOpenFilesLimit(limits('unlimited'))).toBeUndefined();
    expect(parseOpenFilesLimit('')).toBeUndefined();
  });

  it('reads this process’s limit on Linux', () => {
    if (process.platform !== 'linux') return;
    expect(openFilesLimit()).toBeGreaterThan(0);
  });
});
