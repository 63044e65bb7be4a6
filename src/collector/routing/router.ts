import { z } from 'zod';

/** One routing rule: topics matching any pattern go to every listed sink. */
export const routeConfigSchema = z
  .strictObject({
    /** Topic glob patterns (`*` any run of characters, `?` one character). */
    topics: z.array(z.string().min(1)).min(1).describe('Topic glob patterns (`*`, `?`).'),
    /** Names of the sinks (from `sinks[].name`) that must all commit a batch before it is acked. */
    sinks: z
      .array(z.string().min(1))
      .min(1)
      .describe('Sink names; a batch is acked when all committed it.'),
  })
  .describe('A routing rule.');

export type RouteConfig = z.output<typeof routeConfigSchema>;

function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/**
 * Topic → sink names. Rules are tried in order and the first match wins, so a specific rule
 * placed before a catch-all overrides it; topics matching no rule go to `defaultSinks`
 * (none: the batch is rejected with NO_ROUTE). Results are cached per topic.
 */
export class Router {
  readonly #rules: { patterns: RegExp[]; sinks: readonly string[] }[];
  readonly #defaultSinks: readonly string[];
  readonly #cache = new Map<string, readonly string[]>();

  constructor(routes: readonly RouteConfig[], defaultSinks: readonly string[]) {
    this.#rules = routes.map((r) => ({
      patterns: r.topics.map(globToRegExp),
      sinks: [...new Set(r.sinks)],
    }));
    this.#defaultSinks = [...new Set(defaultSinks)];
  }

  sinksFor(topic: string): readonly string[] {
    let sinks = this.#cache.get(topic);
    if (sinks === undefined) {
      sinks =
        this.#rules.find((r) => r.patterns.some((p) => p.test(topic)))?.sinks ?? this.#defaultSinks;
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(topic, sinks);
    }
    return sinks;
  }
}
