export {
  loadChannelCredentials,
  loadSecret,
  loadServerCredentials,
  loadServiceTls,
  secretsEqual,
} from './credentials.js';
export type {
  LoadedChannelCredentials,
  LoadedServerCredentials,
  LoadedServiceTls,
} from './credentials.js';
export {
  clientTlsConfigSchema,
  passwordSchema,
  secretSchema,
  serverTlsConfigSchema,
  serviceTlsSchema,
  TOKEN_MIN_LENGTH,
} from './tls-config.js';
export type {
  ClientTlsConfig,
  SecretConfig,
  ServerTlsConfig,
  ServiceTlsConfig,
} from './tls-config.js';
