export {
  agentInfoSchema,
  assignmentSchema,
  clusterPaths,
  memberInfoSchema,
  parseNode,
  sequenceOf,
} from './layout.js';
export type {
  AgentInfo,
  Assignment,
  ClusterPaths,
  MemberInfo,
  MemberLoad,
  MemberSink,
} from './layout.js';
export { rendezvousPick } from './rendezvous.js';
export { readCluster } from './read-cluster.js';
export type { ClusterView } from './read-cluster.js';
export { RateMeter } from './rate-meter.js';
