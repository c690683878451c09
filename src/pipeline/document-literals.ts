import { BREAK, visit, type DocumentNode } from 'graphql';

/** Documents are parsed once and reused by Apollo's document store: one walk per document. */
const verdicts = new WeakMap<DocumentNode, boolean>();

/** Whether a string literal of the document (argument, default value, directive) holds U+0000. */
export function nulLiteralIn(document: DocumentNode): boolean {
  const known = verdicts.get(document);
  if (known !== undefined) return known;
  let found = false;
  visit(document, {
    StringValue(node) {
      if (node.value.includes('\u0000')) {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  verdicts.set(document, found);
  return found;
}
