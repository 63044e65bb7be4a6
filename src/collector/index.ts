/**
 * The collector: the gRPC server for `Relay.Ship`, dedup by (stream, offset), routing and sinks,
 * and (later) the ZooKeeper cluster membership. Built by the relay-path issue; this module marks
 * its place in the layout.
 */
export const collectorComponent = 'collector' as const;
