export { RelayError, isRetriable } from './relay-error.js';
export type { RelayErrorOptions } from './relay-error.js';
