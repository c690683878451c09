import type { PriceState } from './use-price';
import { shortTime, type RunReport } from './run-report';

const n = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : v.toLocaleString('en-US'));

/** Before running: the dry-run price and whether the gateway would refuse. */
export function PriceBadge({ state }: { state: PriceState }) {
  let cls = 'pg-price';
  let text: string;
  if (state.kind === 'idle') text = state.reason;
  else if (state.kind === 'pricing') text = 'Pricing…';
  else if (state.kind === 'ok') {
    cls += ' pg-ok';
    text = Number.isNaN(state.available)
      ? `Costs ${n(state.cost)} points · within the per-operation maximum of ${n(state.maxPerOperation)}`
      : `Costs ${n(state.cost)} points · ${n(state.available)} of ${n(state.maximum)} left · would run`;
  } else if (state.kind === 'refused') {
    cls += ' pg-refused';
    text = state.message;
  } else {
    cls += ' pg-warn';
    text = state.message;
  }
  return (
    <div className={cls} data-testid="price" data-verdict={state.kind} data-cost={'cost' in state ? state.cost : undefined} aria-live="polite">
      <strong>Before running:</strong> {text}
    </div>
  );
}

/** After running: one line; the Run details panel has the rest. */
export function LastRunSummary({ report }: { report: RunReport | null }) {
  if (!report) return <div className="pg-lastrun" data-testid="last-run">After running: cost, budget, cache and plan show here.</div>;
  const parts: string[] = [`HTTP ${report.status}`, `${Math.round(report.durationMs)} ms`];
  if (report.cost) parts.push(`cost ${n(report.cost.requestedQueryCost)} requested / ${n(report.cost.actualQueryCost)} actual`);
  const rl = report.rateLimit;
  if (rl.remaining !== undefined) parts.push(`${n(rl.remaining)}${rl.limit !== undefined ? ` of ${n(rl.limit)}` : ''} left`);
  if (report.cache.length) {
    const hits = report.cache.filter((c) => c.hit).length;
    parts.push(`cache ${hits}/${report.cache.length} fields hit`);
  }
  if (report.servedFromCache) parts.push('served from cache');
  if (report.plans.length) parts.push(`plan: ${[...new Set(report.plans.flatMap((p) => p.sources.map((s) => s.source)))].join(', ')}`);
  if (report.errorCodes.length) parts.push(`errors: ${report.errorCodes.join(', ')}`);
  return (
    <div className="pg-lastrun" data-testid="last-run" data-requested={report.cost?.requestedQueryCost} data-actual={report.cost?.actualQueryCost}>
      <strong>Last run:</strong> {parts.join(' · ')}
    </div>
  );
}

/** Everything the last run said about itself (the Run details panel). */
export function RunDetails({ report }: { report: RunReport | null }) {
  if (!report) return <p>Run an operation (▶ or Ctrl+Enter): its cost, the budget left, cache hits and the rollups that answered appear here.</p>;
  const rl = report.rateLimit;
  return (
    <div className="pg-details" data-testid="run-details">
      <h3>Cost</h3>
      {report.cost ? (
        <table>
          <tbody>
            <tr><th>requested (estimate, charged first)</th><td>{n(report.cost.requestedQueryCost)}</td></tr>
            <tr><th>actual (the rest is refunded)</th><td>{n(report.cost.actualQueryCost)}</td></tr>
            {report.cost.throttleStatus && (
              <>
                <tr><th>left / capacity</th><td>{n(report.cost.throttleStatus.currentlyAvailable)} / {n(report.cost.throttleStatus.maximumAvailable)}</td></tr>
                <tr><th>restored per second</th><td>{report.cost.throttleStatus.restoreRate}</td></tr>
              </>
            )}
          </tbody>
        </table>
      ) : (
        <p>No <code>extensions.cost</code> in this answer (refused before pricing, or rate limiting is off).</p>
      )}
      <h3>RateLimit headers</h3>
      <table>
        <tbody>
          <tr><th>RateLimit-Policy</th><td><code>{rl.raw.policy ?? '(none)'}</code></td></tr>
          <tr><th>RateLimit</th><td><code>{rl.raw.rateLimit ?? '(none)'}</code></td></tr>
          {rl.policy && <tr><th>policy</th><td>{[rl.policy.name && `"${rl.policy.name}"`, rl.policy.quota !== undefined && `${n(rl.policy.quota)} points`, rl.policy.windowSeconds !== undefined && `per ${rl.policy.windowSeconds} s`, rl.policy.burst !== undefined && `burst ${n(rl.policy.burst)}`].filter(Boolean).join(' ')}</td></tr>}
          {rl.remaining !== undefined && <tr><th>remaining</th><td>{n(rl.remaining)}{rl.resetSeconds !== undefined ? ` (full again in ${rl.resetSeconds} s)` : ''}</td></tr>}
          {report.retryAfterSeconds !== undefined && <tr><th>Retry-After</th><td>{report.retryAfterSeconds} s</td></tr>}
        </tbody>
      </table>
      <h3>Cache (x-cache-debug)</h3>
      {report.cache.length ? (
        <table data-testid="cache-report">
          <tbody>
            {report.cache.map((c) => (
              <tr key={c.field}><th>{c.field}</th><td>{c.hit ? `hit, ${c.ageSeconds ?? 0} s old (TTL ${c.ttlSeconds} s)` : c.ttlSeconds ? `miss: ran, cached for ${c.ttlSeconds} s` : 'not cached: always runs'}</td></tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>No cache report in this answer.</p>
      )}
      {report.servedFromCache && <p>Answered from the cache while the budget was short (<code>X-Served-From-Cache: true</code>).</p>}
      <h3>Plan: which rollups answered</h3>
      {report.plans.map((p) => (
        <div key={p.path} className="pg-plan" data-testid="plan">
          <div><code>{p.path}</code>{p.percentiles ? ` · percentiles ${p.percentiles}` : ''}</div>
          <ul>
            {p.sources.map((s, i) => (
              <li key={i}><code>{s.source}</code> {shortTime(s.from)} → {shortTime(s.to)}</li>
            ))}
          </ul>
        </div>
      ))}
      {report.analyticsWithoutPlan.length > 0 && (
        <p>
          {report.analyticsWithoutPlan.join(', ')}: select <code>plan {'{ percentiles sources { source from to } }'}</code> to see which rollups answered.
        </p>
      )}
      {!report.plans.length && !report.analyticsWithoutPlan.length && <p>No analytics fields in this operation.</p>}
    </div>
  );
}
