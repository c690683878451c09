/**
 * A Content-Type header parsed after RFC 9110 §8.3.1: `type/subtype *( OWS ";" OWS name=value )`,
 * type, subtype and parameter names case-insensitive, values tokens or quoted strings. Null
 * when the header is not a media type at all.
 */
export interface MediaType {
  /** `type/subtype`, lower case. */
  readonly essence: string;
  /** Parameter names lower case; values as sent (quoted strings unquoted). */
  readonly params: ReadonlyMap<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function parseMediaType(header: string | undefined): MediaType | null {
  if (header === undefined) return null;
  const semi = header.indexOf(';');
  const head = (semi < 0 ? header : header.slice(0, semi)).trim();
  const slash = head.indexOf('/');
  if (slash < 0) return null;
  const type = head.slice(0, slash);
  const subtype = head.slice(slash + 1);
  if (!TOKEN.test(type) || !TOKEN.test(subtype)) return null;
  const params = new Map<string, string>();
  let rest = semi < 0 ? '' : header.slice(semi + 1);
  while (rest.trim().length) {
    const m = /^\s*([^=;\s]+)=("(?:[^"\\]|\\.)*"|[^;]*?)\s*(?:;|$)/.exec(rest);
    if (!m) return null;
    const name = m[1]!.toLowerCase();
    let value = m[2]!;
    if (!TOKEN.test(name)) return null;
    if (value.startsWith('"')) {
      if (!/^"(?:[^"\\]|\\.)*"$/.test(value)) return null;
      value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    }
    else if (!TOKEN.test(value)) return null;
    if (!params.has(name)) params.set(name, value);
    rest = rest.slice(m[0].length);
  }
  return { essence: `${type}/${subtype}`.toLowerCase(), params };
}

/**
 * Why a POST body with this Content-Type is not read as JSON, or null when it is:
 * `application/json` in any case, with no charset or UTF-8 (the only encoding JSON has, RFC 8259 §8.1).
 */
export function jsonContentTypeRefusal(header: string | undefined): string | null {
  const t = parseMediaType(header);
  if (!t || t.essence !== 'application/json') return 'Content-Type must be application/json';
  const charset = t.params.get('charset');
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) return `application/json is UTF-8 only; charset=${charset.slice(0, 40)} is not supported`;
  return null;
}
