/**
 * The agent: discovers files by glob, tails them across rotation, batches lines and ships them
 * to collectors, advancing its checkpoint only on end-to-end acknowledgements. Built by the
 * relay-path issue; this module marks its place in the layout.
 */
export const agentComponent = 'agent' as const;
