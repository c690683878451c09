import { z } from 'zod';

/** The value schemas every section is built from. */

export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

const urlWith = (protocols: readonly string[], message: string, needsHost = false) =>
  z.string().refine((v) => {
    try {
      const u = new URL(v);
      return protocols.includes(u.protocol) && (!needsHost || u.hostname.length > 0);
    } catch {
      return false;
    }
  }, message);

export const postgresUrl = urlWith(['postgres:', 'postgresql:'], 'must be a postgres:// or postgresql:// URL with a host', true);
export const redisUrl = urlWith(['redis:', 'rediss:'], 'must be a redis:// or rediss:// URL');
export const httpUrl = urlWith(['http:', 'https:'], 'must be an http:// or https:// URL');

/** "a=1, b=2" → { a: 1, b: 2 }; the format is checked by keyValueList before. */
export function parseKeyValueList(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [name, value] = part.split('=').map((x) => x.trim());
    if (name && value !== undefined) out[name] = Number(value);
  }
  return out;
}

const KEY_VALUE_LIST = /^\s*([A-Za-z_][A-Za-z0-9_]*=\d+\s*(,\s*|$))*$/;

/** A `name=number,…` list of root field names (rate limits, cache TTLs), parsed to a record. */
export const keyValueList = (example: string, def: string) =>
  z.string().regex(KEY_VALUE_LIST, `like "${example}"`).default(def).transform(parseKeyValueList);

/** Adds a cross-check's problem under the variable an operator should change. */
export function problem(ctx: z.RefinementCtx, variable: string, message: string): void {
  ctx.addIssue({ code: 'custom', path: [variable], message });
}

/** Only this machine can reach a listener on these. */
export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/**
 * The address the gateway binds: HOST, else 127.0.0.1 for the embedded database (a demo on this
 * machine) and 0.0.0.0 with DATABASE_URL. Read by the server and telemetry sections alike.
 */
export const listenHost = (e: { HOST?: string; DATABASE_URL?: string }): string => e.HOST ?? (e.DATABASE_URL ? '0.0.0.0' : '127.0.0.1');

/**
 * What a section reads of another concern's variable, unvalidated (its own section reports it
 * when it is bad; the whole configuration is refused then anyway).
 */
export const peek = z.string().optional();
