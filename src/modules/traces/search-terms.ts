import { badInput } from '../../shared/errors';

export const MAX_SEARCH_TERMS = 8;
export const MIN_TERM_LENGTH = 3;

/**
 * A searchTraces query as terms: words separated by whitespace, or "quoted phrases" kept whole.
 * Every term must match (AND), each inside one field or one metadata value (a phrase never
 * spans two); different terms may match different values. Terms are at least 3 characters so
 * that each one narrows the trigram index (a 2-character term has no trigram); quotes must
 * pair up; duplicates (case-insensitively) count once.
 */
export function parseSearchTerms(query: string): string[] {
  const text = query.trim();
  if (text.length < MIN_TERM_LENGTH || text.length > 200) throw badInput('query must be 3 to 200 characters', { argument: 'query' });
  // Also what keeps a match inside one field: the search expression separates fields with U+001F.
  if (/[\u0000-\u001f\u007f]/.test(text)) throw badInput('query may not contain control characters', { argument: 'query' });
  if ((text.match(/"/g) ?? []).length % 2) throw badInput('query has an unpaired double quote: quote a phrase at both ends', { argument: 'query' });
  const terms: string[] = [];
  const seen = new Set<string>();
  for (const m of text.matchAll(/"([^"]*)"|([^\s"]+)/g)) {
    const term = (m[1] ?? m[2] ?? '').trim();
    if (!term) continue;
    if (term.length < MIN_TERM_LENGTH) {
      throw badInput(`search terms are at least ${MIN_TERM_LENGTH} characters ("${term}"); quote words to search them as one phrase, e.g. "gpt 4o"`, {
        argument: 'query',
      });
    }
    const k = term.toLowerCase();
    if (seen.has(k)) continue;
    seen.add(k);
    terms.push(term);
  }
  if (!terms.length) throw badInput('query has no search term', { argument: 'query' });
  if (terms.length > MAX_SEARCH_TERMS) throw badInput(`query takes at most ${MAX_SEARCH_TERMS} terms`, { argument: 'query' });
  return terms;
}
