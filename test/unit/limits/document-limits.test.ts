import { parse } from 'graphql';
import { checkDocumentLimits, checkTokenLimit, countTokens, documentVerdict } from '../../../src/limits/document-limits';

const limits = { maxDepth: 5, maxAliases: 3, maxTokens: 50, maxDirectives: 2 };
const codeOf = (fn: () => void) => {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as { extensions: Record<string, unknown> }).extensions;
  }
};

describe('document limits', () => {
  it('refuses depth past the limit, counting through fragments and inline fragments', () => {
    expect(codeOf(() => checkDocumentLimits(parse('{ a { b { c { d { e } } } } }'), limits))).toBeNull();
    expect(codeOf(() => checkDocumentLimits(parse('{ a { b { c { d { e { f } } } } } }'), limits))).toMatchObject({ code: 'DEPTH_LIMIT_EXCEEDED', limit: 5, actual: 6 });
    expect(codeOf(() => checkDocumentLimits(parse('{ a { ...F } } fragment F on T { b { ... on T { c { d { e { f } } } } } }'), limits))).toMatchObject({ code: 'DEPTH_LIMIT_EXCEEDED', limit: 5 });
  });

  it('counts aliases as executed: a fragment spread twice counts twice', () => {
    expect(codeOf(() => checkDocumentLimits(parse('{ a: x b: x c: x }'), limits))).toBeNull();
    expect(codeOf(() => checkDocumentLimits(parse('{ ...F ...G } fragment F on Q { a: x b: x } fragment G on Q { ...F }'), limits))).toMatchObject({ code: 'ALIAS_LIMIT_EXCEEDED', limit: 3, actual: 4 });
  });

  it('refuses too many directives', () => {
    expect(codeOf(() => checkDocumentLimits(parse('{ a @skip(if: false) @include(if: true) @skip(if: false) }'), limits))).toMatchObject({ code: 'DIRECTIVE_LIMIT_EXCEEDED', limit: 2, actual: 3 });
  });

  it('survives fragment cycles (validation reports them later) and bombs in linear time', () => {
    expect(codeOf(() => checkDocumentLimits(parse('{ ...A } fragment A on Q { ...B } fragment B on Q { ...A x }'), limits))).toBeNull();
    const bomb = Array.from({ length: 40 }, (_, i) => `fragment L${i} on Q { ...L${i + 1} ...L${i + 1} }`).join('\n');
    const started = Date.now();
    expect(codeOf(() => checkDocumentLimits(parse(`{ ...L0 } ${bomb} fragment L40 on Q { a: x }`), limits))).toMatchObject({ code: 'ALIAS_LIMIT_EXCEEDED' });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('counts tokens without lexing past the limit', () => {
    expect(countTokens('{ a b c }', 50)).toBe(5);
    expect(countTokens(`{ ${'a '.repeat(10_000)} }`, 50)).toBe(51);
    expect(codeOf(() => checkTokenLimit(`{ ${'a '.repeat(100)} }`, limits))).toMatchObject({ code: 'TOKEN_LIMIT_EXCEEDED', limit: 50 });
  });

  it('gives a verdict per document: the refusal, or null (the pipeline keeps it with the compiled operation)', () => {
    const doc = parse('{ a { b { c { d { e { f } } } } } }');
    expect(documentVerdict(doc, undefined, limits)?.extensions.code).toBe('DEPTH_LIMIT_EXCEEDED');
    expect(documentVerdict(parse('{ a }'), undefined, limits)).toBeNull();
    expect(documentVerdict(parse('{ a }'), '{ a '.repeat(30), limits)?.extensions.code).toBe('TOKEN_LIMIT_EXCEEDED');
  });
});
