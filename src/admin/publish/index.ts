export { nodeValue, parseEtcdEndpoints, Publisher } from './publisher.js';
export type { PublishedTail, PublisherOptions, PublishResult } from './publisher.js';
