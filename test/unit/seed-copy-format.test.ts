import {
  copyFlatJson,
  copyNullableText,
  copyText,
  isoTimestamp,
  pgTextArray,
  scoreCopyLine,
  SCORE_COPY_COLUMNS,
  traceCopyLine,
  TRACE_COPY_COLUMNS,
} from '../../db/seed/copy-format';
import { generateSeedRows } from '../../db/seed/generator';
import { Prng } from '../../db/seed/prng';

describe('COPY text format', () => {
  it('escapes backslash, newline, carriage return and tab, and nothing else', () => {
    expect(copyText('plain "quoted" {x}, y')).toBe('plain "quoted" {x}, y');
    expect(copyText('a\\b\nc\rd\te')).toBe('a\\\\b\\nc\\rd\\te');
    expect(copyText('')).toBe('');
    expect(copyNullableText(null)).toBe('\\N');
    // A literal "\N" string is data, not NULL.
    expect(copyNullableText('\\N')).toBe('\\\\N');
    expect(() => copyText('nul\u0000byte')).toThrow(/NUL/);
  });

  it('quotes text[] elements the way array_in reads them', () => {
    expect(pgTextArray([])).toBe('{}');
    expect(pgTextArray(['beta', 'rag'])).toBe('{beta,rag}');
    expect(pgTextArray(['two words', 'comma,here', 'brace{', 'quote"', 'back\\slash', '', 'NULL', 'null'])).toBe(
      '{"two words","comma,here","brace{","quote\\"","back\\\\slash","","NULL","null"}',
    );
  });

  it('serialises flat metadata exactly like JSON.stringify, falling back for values that need escaping', () => {
    const clean = { region: 'eu-west-1', app_version: '1.4.2', feature: 'search' };
    expect(copyFlatJson(clean)).toBe(JSON.stringify(clean));
    expect(copyFlatJson({})).toBe('{}');
    const dirty = { quote: 'say "hi"', newline: 'a\nb', backslash: 'c:\\tmp' };
    expect(copyFlatJson(dirty)).toBe(copyText(JSON.stringify(dirty)));
  });

  it('formats timestamps exactly like toISOString', () => {
    const rng = new Prng(3);
    const samples = [0, -1, 1, 59_999, 60_000, -62_167_219_200_000, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_001];
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(rng.range(0, 4_102_444_800_000)));
    const wrong = samples.filter((ms) => isoTimestamp(new Date(ms)) !== new Date(ms).toISOString());
    expect(wrong).toEqual([]);
  });

  it('writes one line per row with one field per column', () => {
    const { traces, scores } = generateSeedRows({ traces: 300, days: 2, orgs: 2, seed: 5, endAt: new Date('2026-01-01T00:00:00Z') });
    for (const t of traces) {
      const line = traceCopyLine(t);
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1).split('\t')).toHaveLength(TRACE_COPY_COLUMNS.length);
    }
    for (const s of scores) expect(scoreCopyLine(s).slice(0, -1).split('\t')).toHaveLength(SCORE_COPY_COLUMNS.length);
    const root = traces.find((t) => t.parent_span_id === null && t.ttft_ms === null);
    if (root) expect(traceCopyLine(root).split('\t')[TRACE_COPY_COLUMNS.indexOf('parent_span_id')]).toBe('\\N');
  });

  it('writes costs in fixed notation even when tiny', () => {
    const [row] = generateSeedRows({ traces: 1, days: 1, orgs: 1, seed: 1, endAt: new Date('2026-01-01T00:00:00Z') }).traces;
    const line = traceCopyLine({ ...row!, prompt_cost_usd: 1e-7, completion_cost_usd: 0, total_cost_usd: 1e-7 });
    const fields = line.split('\t');
    expect(fields[TRACE_COPY_COLUMNS.indexOf('prompt_cost_usd')]).toBe('0.00000010');
    expect(fields[TRACE_COPY_COLUMNS.indexOf('completion_cost_usd')]).toBe('0.00000000');
  });
});
