import fs from 'node:fs';
import path from 'node:path';
import {
  Kind,
  parse,
  print,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionNode,
} from 'graphql';

/**
 * The playground's ready tabs, made at build time from examples/operations: one tab per
 * operation, with the fragments it uses (from any of the files, as the cost CLI resolves them)
 * and its variables from `<file>.variables.json`. Analytics fields also ask for `plan`, so
 * that running an example shows which rollups answered.
 */
export interface ExampleTab {
  readonly title: string;
  readonly file: string;
  readonly description: string;
  readonly query: string;
  readonly variables: string;
}

const ANALYTICS_FIELDS = new Set(['performance', 'costs', 'quality', 'compareModels']);
const PLAN_SELECTION = (parse('{ plan { percentiles sources { source from to } } }').definitions[0] as OperationDefinitionNode).selectionSet.selections[0] as FieldNode;

export function loadExampleTabs(dir: string): ExampleTab[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.graphql')).sort();
  const docs = files.map((f) => ({ file: f, text: fs.readFileSync(path.join(dir, f), 'utf8') }));
  const variablesOf = (file: string): Record<string, unknown> => {
    const v = path.join(dir, file.replace(/\.graphql$/, '.variables.json'));
    return fs.existsSync(v) ? (JSON.parse(fs.readFileSync(v, 'utf8')) as Record<string, unknown>) : {};
  };
  return exampleTabs(docs, variablesOf);
}

export function exampleTabs(docs: readonly { file: string; text: string }[], variablesOf: (file: string) => Record<string, unknown>): ExampleTab[] {
  const parsed = docs.map((d) => ({ ...d, doc: parse(d.text, { noLocation: true }) }));
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const { doc } of parsed) for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const tabs: ExampleTab[] = [];
  for (const { file, text, doc } of parsed) {
    const comment = leadingComment(text);
    const allVars = variablesOf(file);
    const operations = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    for (const op of operations) {
      const name = op.name?.value ?? 'Anonymous';
      const opNames = operations.map((o) => o.name?.value);
      const keyed = Object.keys(allVars).some((k) => opNames.includes(k));
      const variables = keyed ? allVars[name] : allVars;
      const withPlan = op.operation === 'query' ? addPlans(op) : op;
      const used = fragmentClosure(withPlan, fragments);
      const body: DocumentNode = { kind: Kind.DOCUMENT, definitions: [withPlan, ...used] };
      const header = [`# ${name} — from examples/operations/${file}`, ...(comment ? [`# ${comment}`] : []), ...(withPlan !== op ? ['# The playground also asks for `plan`: which rollups answered each slice of the range.'] : [])];
      tabs.push({
        title: name,
        file,
        description: comment,
        query: `${header.join('\n')}\n${print(body)}\n`,
        variables: variables && typeof variables === 'object' && Object.keys(variables).length ? JSON.stringify(variables, null, 2) : '',
      });
    }
  }
  return tabs;
}

function leadingComment(text: string): string {
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*#\s?(.*)$/.exec(line);
    if (!m) break;
    lines.push(m[1]!.trim());
  }
  return lines.join(' ');
}

/** Analytics root fields without a `plan` selection get one. */
function addPlans(op: OperationDefinitionNode): OperationDefinitionNode {
  let changed = false;
  const selections = op.selectionSet.selections.map((s): SelectionNode => {
    if (s.kind !== Kind.FIELD || !ANALYTICS_FIELDS.has(s.name.value) || !s.selectionSet) return s;
    if (s.selectionSet.selections.some((c) => c.kind === Kind.FIELD && c.name.value === 'plan')) return s;
    changed = true;
    return { ...s, selectionSet: { ...s.selectionSet, selections: [PLAN_SELECTION, ...s.selectionSet.selections] } };
  });
  return changed ? { ...op, selectionSet: { ...op.selectionSet, selections } } : op;
}

function fragmentClosure(op: OperationDefinitionNode, all: Map<string, FragmentDefinitionNode>): FragmentDefinitionNode[] {
  const seen = new Map<string, FragmentDefinitionNode>();
  const visitNode = (node: OperationDefinitionNode | FragmentDefinitionNode) => {
    visit(node, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        const def = all.get(name);
        if (def && !seen.has(name)) {
          seen.set(name, def);
          visitNode(def);
        }
      },
    });
  };
  visitNode(op);
  return [...seen.values()];
}
