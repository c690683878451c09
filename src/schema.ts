import { GraphQLScalarType, Kind } from 'graphql';
import type { Resolvers } from './__generated__/resolvers-types';
import { viewerResolvers } from './modules/viewer/viewer.resolvers';
import { traceResolvers } from './modules/traces/traces.resolvers';
import { projectResolvers } from './modules/projects/projects.resolvers';
import { exportResolvers } from './modules/exports/exports.resolvers';
import { metricsResolvers } from './modules/metrics/metrics.resolvers';
import { qualityResolvers } from './modules/quality/quality.resolvers';
import { sessionResolvers } from './modules/sessions/sessions.resolvers';
import { cacheResolvers } from './cache/cache.resolvers';
import { rateLimitResolvers } from './limits/rate-limit.resolvers';
import { apiKeyResolvers } from './modules/api-keys/api-keys.resolvers';
import { badInput } from './shared/errors';
import { isCalendarDate, isClockTime } from './shared/calendar';

export { SCHEMA_DIR, loadTypeDefs } from './schema-sdl';

const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize: (v) => (v instanceof Date ? v : new Date(v as string)).toISOString(),
  parseValue: (v) => parseDate(v),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw badInput('DateTime must be an ISO-8601 string');
    return parseDate(ast.value);
  },
});

function parseDate(v: unknown): Date {
  const m = typeof v === 'string' ? /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(v) : null;
  if (!m) throw badInput('DateTime must be an ISO-8601 string like 2026-11-26T10:00:00Z');
  const [y, mo, d, h = 0, mi = 0, s = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => (x === undefined ? undefined : Number(x))) as number[];
  if (!isCalendarDate(y!, mo!, d!) || !isClockTime(h, mi, s)) throw badInput(`Invalid DateTime: ${String(v).slice(0, 40)} is not a date on the calendar`);
  const date = new Date(v as string);
  if (Number.isNaN(date.getTime())) throw badInput(`Invalid DateTime: ${String(v).slice(0, 40)}`);
  return date;
}

const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (v) => v,
  parseValue: (v) => v,
});

const Cursor = new GraphQLScalarType<string, string>({
  name: 'Cursor',
  serialize: (v) => String(v),
  parseValue: (v) => {
    if (typeof v !== 'string') throw badInput('Cursor must be a string');
    return v;
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw badInput('Cursor must be a string');
    return ast.value;
  },
});

function merge(...parts: Resolvers[]): Resolvers {
  const out: Record<string, Record<string, unknown>> = {};
  for (const part of parts) {
    for (const [type, fields] of Object.entries(part)) {
      out[type] = { ...(out[type] ?? {}), ...(fields as Record<string, unknown>) };
    }
  }
  return out as Resolvers;
}

export const resolvers: Resolvers = {
  ...merge(viewerResolvers, traceResolvers, projectResolvers, exportResolvers, metricsResolvers, qualityResolvers, sessionResolvers, cacheResolvers, rateLimitResolvers, apiKeyResolvers),
  DateTime,
  JSON: JSONScalar,
  Cursor,
};
