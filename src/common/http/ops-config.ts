import { z } from 'zod';

/** `http:` section: the operations endpoint of a long-running process. */
export const opsServerConfigSchema = z
  .strictObject({
    /** Address to bind. Default: 127.0.0.1 (loopback, so metrics are not exposed by accident). */
    host: z.string().min(1).default('127.0.0.1').describe('Address to bind. Default: 127.0.0.1.'),
    /** TCP port; 0 picks a free one. Default: 0. */
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(0)
      .describe('TCP port for /metrics, /healthz and /readyz; 0 picks a free port. Default: 0.'),
  })
  .describe('Operations HTTP endpoint: /metrics (Prometheus), /healthz, /readyz.');

export type OpsServerConfig = z.output<typeof opsServerConfigSchema>;
