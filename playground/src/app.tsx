import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { GraphiQL } from 'graphiql';
import { pick, useGraphiQL } from '@graphiql/react';
import type { Fetcher } from '@graphiql/toolkit';
import examples from 'playground:examples';
import { postGraphQL, signIn, storedKey, storeKey, type ViewerInfo } from './gateway-client';
import { runReport, type RunReport } from './run-report';
import { usePrice } from './use-price';
import { LastRunSummary, PriceBadge } from './cost-views';
import { RunContext } from './run-context';
import { HELP_PLUGIN, HELP_TITLE, RUN_PLUGIN } from './plugins';

interface Editing {
  readonly query: string;
  readonly variables: string;
  readonly operationName: string | null;
}

export function App() {
  const [session, setSession] = useState<{ key: string; viewer: ViewerInfo } | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [checking, setChecking] = useState(true);

  useEffect(() => {
    const key = storedKey();
    if (!key) {
      setChecking(false);
      return;
    }
    void signIn(key).then((r) => {
      if (r.ok) setSession({ key, viewer: r.viewer });
      else {
        storeKey(null);
        setMessage(`The key kept in this browser no longer works. ${r.message}`);
      }
      setChecking(false);
    });
  }, []);

  const onSignIn = async (key: string) => {
    const r = await signIn(key);
    if (!r.ok) {
      setMessage(r.message);
      return;
    }
    storeKey(key.trim());
    setMessage(null);
    setSession({ key: key.trim(), viewer: r.viewer });
  };
  const onSignOut = () => {
    storeKey(null);
    setSession(null);
  };

  return (
    <div className="pg-app">
      <header className="pg-header">
        <div className="pg-brand">
          Observatory Analytics Gateway <span>playground</span>
        </div>
        {session ? <ViewerBadge viewer={session.viewer} onSignOut={onSignOut} /> : checking ? null : <SignInForm onSignIn={onSignIn} />}
      </header>
      {message && (
        <div className="pg-alert" role="alert" data-testid="sign-in-error">
          {message}
        </div>
      )}
      {session ? <Workbench key={session.key} apiKey={session.key} viewer={session.viewer} /> : checking ? null : <Welcome />}
    </div>
  );
}

function SignInForm({ onSignIn }: { onSignIn: (key: string) => Promise<void> }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    await onSignIn(key);
    setBusy(false);
  };
  return (
    <form className="pg-signin" onSubmit={submit}>
      <label htmlFor="pg-key">API key</label>
      <input id="pg-key" type="password" autoComplete="off" spellCheck={false} placeholder="obs_…" value={key} onChange={(e) => setKey(e.target.value)} />
      <button type="submit" disabled={busy}>
        {busy ? 'Checking…' : 'Sign in'}
      </button>
    </form>
  );
}

function ViewerBadge({ viewer, onSignOut }: { viewer: ViewerInfo; onSignOut: () => void }) {
  return (
    <div className="pg-viewer" data-testid="viewer">
      <span className="pg-org" title={viewer.orgId}>
        {viewer.orgName} <code>{viewer.orgId}</code>
      </span>
      <span className="pg-role" data-testid="viewer-role">
        {viewer.role}
      </span>
      <span className="pg-scope">{viewer.projectIds ? `projects: ${viewer.projectIds.join(', ')}` : 'all projects'}</span>
      {viewer.keyName && <span className="pg-keyname">key “{viewer.keyName}”</span>}
      <button type="button" onClick={onSignOut}>
        Sign out
      </button>
    </div>
  );
}

function Welcome() {
  return (
    <main className="pg-welcome">
      <h1>Explore the analytics API</h1>
      <p>
        Sign in with an API key to query traces, latency, spend and quality of your organisation. The key stays in this browser (local storage) and is sent
        only to this gateway, as <code>Authorization: Bearer</code>.
      </p>
      <p>
        <code>npm start</code> prints demo keys for every role; an ADMIN creates keys with <code>createApiKey</code> here or <code>npx analytics-gateway keys create</code>.
      </p>
      <p>Every operation is priced as you type, before it runs; after it runs you see what it cost, what is left of your budget, what came from the cache and which rollups answered.</p>
    </main>
  );
}

/** Reads the active tab out of GraphiQL's store (it renders inside GraphiQL, as its footer). */
function EditorBridge({ onChange }: { onChange: (e: Editing) => void }) {
  const { tabs, activeTabIndex, operationName } = useGraphiQL(pick('tabs', 'activeTabIndex', 'operationName'));
  const tab = tabs[activeTabIndex];
  const query = tab?.query ?? '';
  const variables = tab?.variables ?? '';
  const name = operationName ?? tab?.operationName ?? null;
  useEffect(() => onChange({ query, variables, operationName: name }), [query, variables, name, onChange]);
  return <span className="pg-footer-hint">Cost, cache and plan of the last run: the gauge in the sidebar (Run details).</span>;
}

function Workbench({ apiKey, viewer }: { apiKey: string; viewer: ViewerInfo }) {
  const [editing, setEditing] = useState<Editing>({ query: '', variables: '', operationName: null });
  const [lastRun, setLastRun] = useState<RunReport | null>(null);
  const [revision, setRevision] = useState(0);
  const price = usePrice(apiKey, editing.query, editing.variables, editing.operationName, revision);
  const onEditing = useCallback((e: Editing) => setEditing(e), []);

  const fetcher = useMemo<Fetcher>(
    () => async (params, opts) => {
      const introspection = params.operationName === 'IntrospectionQuery';
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts?.headers ?? {})) if (v != null && k.toLowerCase() !== 'authorization') headers[k] = String(v);
      // Ask which fields came from the cache (the answer's extensions.cache).
      if (!introspection) headers['x-cache-debug'] = '1';
      const r = await postGraphQL(apiKey, params, headers);
      if (!introspection) {
        setLastRun(runReport(r.status, r.headers, r.body, r.durationMs));
        setRevision((n) => n + 1);
      }
      return r.body;
    },
    [apiKey],
  );
  const plugins = useMemo(() => [HELP_PLUGIN, RUN_PLUGIN], []);
  const defaultTabs = useMemo(() => examples.map((e) => ({ query: e.query, variables: e.variables })), []);

  return (
    <RunContext.Provider value={{ viewer, lastRun }}>
      <div className="pg-strip">
        <PriceBadge state={price} />
        <LastRunSummary report={lastRun} />
      </div>
      <div className="pg-graphiql">
        <GraphiQL fetcher={fetcher} plugins={plugins} visiblePlugin={HELP_TITLE} defaultTabs={defaultTabs} defaultEditorToolsVisibility="variables" shouldPersistHeaders={false}>
          <GraphiQL.Logo>
            <span className="pg-logo">Observatory</span>
          </GraphiQL.Logo>
          <GraphiQL.Footer>
            <EditorBridge onChange={onEditing} />
          </GraphiQL.Footer>
        </GraphiQL>
      </div>
    </RunContext.Provider>
  );
}
