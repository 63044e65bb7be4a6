export { opsServerConfigSchema } from './ops-config.js';
export type { OpsServerConfig } from './ops-config.js';
export { OpsServer } from './ops-server.js';
export type { ReadinessCheck, ReadinessReport } from './ops-server.js';
