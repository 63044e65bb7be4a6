export { AdminApiServer, defaultAdminApiPort } from './api-server.js';
export type { AdminApiConfig } from './api-server.js';
export {
  BodyTooLargeError,
  defaultMaxBodyBytes,
  onlyFields,
  parseJsonObject,
  parseNewNode,
  parseNewTail,
  parseQuery,
  UnsupportedMediaTypeError,
} from './api-input.js';
