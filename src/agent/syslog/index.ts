export * from './config.js';
export * from './framing.js';
export * from './spool.js';
export * from './syslog-input.js';
