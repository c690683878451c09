import { pick, useGraphiQL, useGraphiQLActions, type GraphiQLPlugin } from '@graphiql/react';
import { DOC_EXPLORER_PLUGIN } from '@graphiql/plugin-doc-explorer';
import examples from 'playground:examples';
import { RunDetails } from './cost-views';
import { useRunContext } from './run-context';

export const HELP_TITLE = 'What can I ask';
export const RUN_TITLE = 'Run details';

const ROLE_NOTES: Record<string, string> = {
  ADMIN: 'everything in the org, including API keys (apiKeys, createApiKey, revokeApiKey), projects (createProject, renameProject) and cache purges.',
  DEVELOPER: 'traces with prompt and completion text, all metrics, exports.',
  VIEWER: 'traces without content, and all metrics and costs.',
  BILLING: 'costs and usage (costs, projects with their spend); no traces or latency.',
  INGEST: 'sends spans to POST /v1/traces only; reads nothing here.',
};

const FIELDS: readonly [string, string][] = [
  ['performance(range, groupBy, interval)', 'requests, errors, latency percentiles, TTFT, tokens/s: totals, groups, series'],
  ['costs(range, groupBy, interval)', 'spend, tokens, cost per request, previous period, top spenders'],
  ['quality(range, groupBy, names)', 'evaluation and feedback scores'],
  ['compareModels(models, range)', 'up to 10 models side by side'],
  ['traces(filter, first, after, orderBy)', 'LLM calls, newest first, with keyset cursors'],
  ['trace(id)', 'one call with its spans, scores and session'],
  ['searchTraces(query)', 'text search over prompts, completions, users, metadata'],
  ['projects, sessions', 'projects with usage stats; conversations'],
  ['viewer, rateLimit(dryRun: true)', 'who you are; the price of a document and your budget'],
];

function HelpContent() {
  const { viewer } = useRunContext();
  const { addTab, setVisiblePlugin } = useGraphiQLActions();
  const { queryEditor, variableEditor } = useGraphiQL(pick('queryEditor', 'variableEditor'));
  const open = (i: number) => {
    const ex = examples[i]!;
    addTab();
    queryEditor?.setValue(ex.query);
    variableEditor?.setValue(ex.variables);
  };
  return (
    <div className="pg-help" data-testid="help">
      <div className="graphiql-doc-explorer-title">{HELP_TITLE}</div>
      <p>
        Signed in as <strong>{viewer.role}</strong> of <strong>{viewer.orgName}</strong>: you can read {ROLE_NOTES[viewer.role] ?? 'what your role allows.'}{' '}
        {viewer.projectIds ? `Only projects ${viewer.projectIds.join(', ')}.` : 'Every project of the org.'}
      </p>
      <ul className="pg-fields">
        {FIELDS.map(([f, what]) => (
          <li key={f}><code>{f}</code> — {what}</li>
        ))}
      </ul>
      <p>
        Ranges are relative (<code>{'{ last: "24h" }'}</code>) or absolute (<code>from</code>, <code>to</code>); <code>interval: AUTO</code> picks the bucket;
        <code> plan</code> says which rollups answered. Every operation is priced before it runs: the price shows above the editor as you type.
      </p>
      <p>
        <button type="button" className="pg-link" onClick={() => setVisiblePlugin(DOC_EXPLORER_PLUGIN)}>Open the docs explorer</button> for every field, argument and type.
      </p>
      <h4>Examples</h4>
      <ul className="pg-examples">
        {examples.map((ex, i) => (
          <li key={ex.title}>
            <button type="button" className="pg-link" onClick={() => open(i)}>{ex.title}</button> <span>{ex.description}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function RunContent() {
  const { lastRun } = useRunContext();
  return (
    <div className="pg-help">
      <div className="graphiql-doc-explorer-title">{RUN_TITLE}</div>
      <RunDetails report={lastRun} />
    </div>
  );
}

const HelpIcon = () => (
  <svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
    <circle cx="12" cy="12" r="9" />
    <path d="M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .9-1 1.6V14" />
    <circle cx="12" cy="17" r=".6" fill="currentColor" />
  </svg>
);

const GaugeIcon = () => (
  <svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
    <path d="M4 16a8 8 0 1 1 16 0" />
    <path d="M12 16l4-5" />
  </svg>
);

export const HELP_PLUGIN: GraphiQLPlugin = { title: HELP_TITLE, icon: HelpIcon, content: HelpContent };
export const RUN_PLUGIN: GraphiQLPlugin = { title: RUN_TITLE, icon: GaugeIcon, content: RunContent };
