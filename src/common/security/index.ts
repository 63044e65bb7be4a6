export {
  loadChannelCredentials,
  loadSecret,
  loadServerCredentials,
  secretsEqual,
} from './credentials.js';
export type { LoadedChannelCredentials, LoadedServerCredentials } from './credentials.js';
export { clientTlsConfigSchema, secretSchema, serverTlsConfigSchema } from './tls-config.js';
export type { ClientTlsConfig, SecretConfig, ServerTlsConfig } from './tls-config.js';
