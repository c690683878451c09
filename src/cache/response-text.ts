import type { FormattedExecutionResult } from 'graphql';

/**
 * Cached answers leave as the text they were stored as. A root field answered from the cache
 * is put into the response's `data` as a RawJson (its JSON text); Apollo's `stringifyResult`
 * hook (stringifyResponse) writes that text into the body unparsed. Anything that serialises
 * the result another way still gets the right JSON (toJSON parses the text).
 */
export class RawJson {
  constructor(readonly text: string) {}

  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

/**
 * The body Apollo sends for a single result (its default is JSON.stringify + "\n"), with
 * RawJson root fields spliced in as they are. Fields are in Apollo's order: errors, data,
 * extensions.
 */
export function stringifyResponse(result: FormattedExecutionResult): string {
  const data = result.data as Record<string, unknown> | null | undefined;
  if (!data || !Object.values(data).some((v) => v instanceof RawJson)) return `${JSON.stringify(result)}\n`;
  const parts: string[] = [];
  if (result.errors !== undefined) parts.push(`"errors":${JSON.stringify(result.errors)}`);
  const fields: string[] = [];
  for (const key of Object.keys(data)) {
    const v = data[key];
    if (v === undefined) continue;
    fields.push(`${JSON.stringify(key)}:${v instanceof RawJson ? v.text : JSON.stringify(v)}`);
  }
  parts.push(`"data":{${fields.join(',')}}`);
  if (result.extensions !== undefined) parts.push(`"extensions":${JSON.stringify(result.extensions)}`);
  return `{${parts.join(',')}}\n`;
}
