import { z } from 'zod';
import { passwordSchema } from '../security/index.js';

/** How to reach the cluster's ZooKeeper (shared by collectors, agents and `logrelay status`). */
export const zookeeperConfigSchema = z
  .strictObject({
    /** Connect string: `host:port[,host:port...]`. */
    connect: z
      .string()
      .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'use host:port[,host:port...]')
      .describe('ZooKeeper connect string host:port[,host:port...]. Required.'),
    /** Root znode of this cluster. Default: /logrelay. */
    root: z
      .string()
      .regex(/^\/[^\s]*$/, 'an absolute znode path')
      .default('/logrelay')
      .describe('Root znode of the cluster. Default: /logrelay.'),
    /** Session timeout, in ms: how fast a dead process's znodes vanish. Default: 10000. */
    sessionTimeoutMs: z
      .number()
      .int()
      .min(2000)
      .max(60_000)
      .default(10_000)
      .describe('ZooKeeper session timeout, ms. Default: 10000.'),
    /** Digest authentication; nodes created are then readable only by this user. Default: none. */
    auth: z
      .strictObject({
        username: z.string().min(1).describe('Digest user.'),
        password: passwordSchema.describe('Its password: { value } or { file }.'),
      })
      .optional()
      .describe('ZooKeeper digest auth. Default: none.'),
  })
  .describe('The cluster’s ZooKeeper.');

export type ZookeeperConfig = z.output<typeof zookeeperConfigSchema>;
