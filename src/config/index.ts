import type { z } from 'zod';
import { analyticsSection, databaseSection, demoSection, httpSection, ingestSection, playgroundSection, redisSection, serverSection, telemetrySection } from './runtime-sections';
import { authSection, cacheSection, exportsSection, limitsSection, operationsSection, persistedQueriesSection } from './feature-sections';

/**
 * The only reader of process.env. One zod object per concern (runtime-sections.ts,
 * feature-sections.ts), each with its own cross-checks and its own transform to the shape the
 * code reads; every bad variable of every section is reported at once; the result is a frozen,
 * typed object that the rest of the code receives explicitly.
 */

/** Sections whose output is a key of Config. */
const NESTED = {
  database: databaseSection,
  analytics: analyticsSection,
  demo: demoSection,
  ingest: ingestSection,
  cache: cacheSection,
  persistedQueries: persistedQueriesSection,
  http: httpSection,
  playground: playgroundSection,
  telemetry: telemetrySection,
  auth: authSection,
  limits: limitsSection,
  exports: exportsSection,
};
/** Sections whose output keys sit at the top of Config (env, host, port, redisUrl, …). */
const FLAT = { server: serverSection, redis: redisSection, operations: operationsSection };

type DeepReadonly<T> = T extends (...args: never[]) => unknown ? T : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;
type Output<S extends Record<string, z.ZodType>> = { [K in keyof S]: z.output<S[K]> };
type FlatOutput = z.output<typeof serverSection> & z.output<typeof redisSection> & z.output<typeof operationsSection>;

export type Config = DeepReadonly<FlatOutput & Output<typeof NESTED>>;
export type ExportConfig = Config['exports'];

/** Every variable this file reads (deployment files are checked against it). */
export const ENV_VARIABLES: readonly string[] = Object.freeze([
  ...new Set([...Object.values(FLAT), ...Object.values(NESTED)].flatMap((section) => Object.keys(section.in.shape))),
]);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Parses every section of `env`; the problems of all of them, or each section's output. */
function parseSections<S extends Record<string, z.ZodType>>(sections: S, env: Record<string, string>, problems: string[]): Output<S> {
  const out: Record<string, unknown> = {};
  for (const [name, section] of Object.entries(sections)) {
    const parsed = section.safeParse(env);
    if (parsed.success) out[name] = parsed.data;
    else problems.push(...parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return out as Output<S>;
}

/** Parses an environment (process.env by default); throws ConfigError naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset", as they do in most deployment tools.
  const cleaned = Object.fromEntries(Object.entries(source).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
  const problems: string[] = [];
  const flat = parseSections(FLAT, cleaned, problems);
  const nested = parseSections(NESTED, cleaned, problems);
  if (problems.length) throw new ConfigError(problems);
  return deepFreeze({ ...flat.server, ...flat.redis, ...flat.operations, ...nested });
}

export { isLoopback } from './values';
