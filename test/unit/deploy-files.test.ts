import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ENV_VARIABLES, loadConfig } from '../../src/config';
import { metricsRegistry } from '../../src/telemetry/metrics';

const ROOT = path.resolve(__dirname, '../..');
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');
const yamlOf = (rel: string) => parse(read(rel));

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
/** Metric names an expression reads: not functions, keywords, label names or label values. */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = stripped.match(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g) ?? [];
  return [...new Set(names.filter((n) => !PROMQL_WORDS.has(n.toLowerCase())))];
}

/** Series names the registry exposes, histogram and summary suffixes included. */
async function exportedSeries(): Promise<Set<string>> {
  const out = new Set<string>(['up']); // synthesised by Prometheus for every target
  for (const m of await metricsRegistry.getMetricsAsJSON()) {
    out.add(m.name);
    const type = String(m.type);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m.name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) out.add(m.name + s);
  }
  return out;
}

function promtool(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

describe('deploy/prometheus', () => {
  const alerts = yamlOf('deploy/prometheus/alerts.yml');
  const rules: any[] = alerts.groups.flatMap((g: any) => g.rules);

  it('has the seed alerts plus pool saturation and rate-limit storms, each complete', () => {
    const names = rules.map((r) => r.alert);
    for (const n of ['HighLatency', 'HighErrorRate', 'LowCacheHitRate', 'DatabasePoolSaturated', 'RateLimitStorm']) expect(names).toContain(n);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) {
      expect(typeof r.expr).toBe('string');
      expect(['warning', 'critical']).toContain(r.labels?.severity);
      expect(r.annotations?.summary).toBeTruthy();
    }
  });

  it('uses only metrics the gateway really exports', async () => {
    const exported = await exportedSeries();
    const used = new Set<string>();
    for (const r of rules) {
      for (const name of metricNamesIn(r.expr)) {
        used.add(name);
        expect({ alert: r.alert, metric: name, exported: exported.has(name) }).toEqual({ alert: r.alert, metric: name, exported: true });
      }
    }
    for (const m of ['http_request_duration_seconds_bucket', 'http_requests_total', 'cache_hits_total', 'cache_misses_total', 'db_pool_connections', 'db_pool_size', 'rate_limit_exceeded_total']) {
      expect(used).toContain(m);
    }
  });

  it('extracts metric names from PromQL correctly', () => {
    expect(metricNamesIn('histogram_quantile(0.95, sum by (le) (rate(a_bucket{x="y z",le="+Inf"}[5m]))) > 1')).toEqual(['a_bucket']);
    expect(metricNamesIn('sum(rate(b_total[5m])) / sum by (instance) (c) and up{job="j"} == 0').sort()).toEqual(['b_total', 'c', 'up']);
  });

  it('scrapes the gateway service of docker-compose', () => {
    const prom = yamlOf('deploy/prometheus/prometheus.yml');
    expect(prom.rule_files).toContain('alerts.yml');
    const job = prom.scrape_configs.find((j: any) => j.job_name === 'analytics-gateway');
    expect(job.metrics_path).toBe('/metrics');
    // /metrics is not on the public port: the compose gateway serves it on METRICS_PORT.
    expect(job.static_configs[0].targets).toEqual([`gateway:${yamlOf('docker-compose.yml').services.gateway.environment.METRICS_PORT}`]);
  });

  const tool = promtool();
  const withPromtool = tool ? it : it.skip;
  if (!tool) process.stdout.write('skipped promtool checks: promtool not installed (.ci/run unpacks it from Debian\'s prometheus package)\n');

  withPromtool('passes `promtool check rules`, `promtool check config` and the alert unit tests', () => {
    for (const args of [
      ['check', 'rules', 'deploy/prometheus/alerts.yml'],
      ['check', 'config', 'deploy/prometheus/prometheus.yml'],
      ['test', 'rules', 'deploy/prometheus/alerts.test.yml'],
    ]) {
      const r = spawnSync(tool!, args, { cwd: ROOT, encoding: 'utf8' });
      expect({ args, status: r.status, out: r.status === 0 ? '' : r.stdout + r.stderr }).toEqual({ args, status: 0, out: '' });
    }
  });
});

describe('deploy/k8s', () => {
  const dir = path.join(ROOT, 'deploy/k8s');
  const docs = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => {
        expect(d.errors).toEqual([]);
        return { file: f, doc: d.toJS() };
      }),
    );
  const byKind = (kind: string) => docs.filter((d) => d.doc?.kind === kind).map((d) => d.doc);
  const deployment = byKind('Deployment')[0];
  const container = deployment?.spec.template.spec.containers[0];
  const configMap = byKind('ConfigMap')[0];

  it('parses, and every manifest names its apiVersion, kind and metadata.name', () => {
    expect(docs.length).toBeGreaterThanOrEqual(6);
    for (const { file, doc } of docs) {
      expect({ file, ok: Boolean(doc.apiVersion && doc.kind && (doc.kind === 'Kustomization' || doc.metadata?.name)) }).toEqual({ file, ok: true });
    }
  });

  it('gives the Deployment the seed resources, probes on the health endpoints, env from ConfigMap and Secret', () => {
    expect(deployment.apiVersion).toBe('apps/v1');
    expect(container.resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    const port = container.ports.find((p: any) => p.name === 'http');
    expect(port.containerPort).toBe(Number(configMap.data.PORT));
    // Prometheus scrapes METRICS_PORT (the annotations), never the public port.
    const metricsPort = container.ports.find((p: any) => p.name === 'metrics');
    expect(metricsPort.containerPort).toBe(Number(configMap.data.METRICS_PORT));
    expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(configMap.data.METRICS_PORT);
    expect(container.envFrom.map((e: any) => e.configMapRef?.name ?? e.secretRef?.name)).toEqual([configMap.metadata.name, byKind('Secret')[0].metadata.name]);
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(deployment.spec.selector.matchLabels).toEqual(expect.objectContaining({ 'app.kubernetes.io/name': 'analytics-gateway' }));
  });

  it('lets the pod drain and finish in-flight requests before it is killed', () => {
    const grace = deployment.spec.template.spec.terminationGracePeriodSeconds * 1000;
    expect(grace).toBeGreaterThan(Number(configMap.data.SHUTDOWN_DRAIN_DELAY_MS) + Number(configMap.data.SHUTDOWN_TIMEOUT_MS));
  });

  it('has a ConfigMap that the gateway accepts, naming only variables it (or Node, or the OTel SDK) reads', () => {
    const secret = byKind('Secret')[0];
    expect(() => loadConfig({ ...configMap.data, ...secret.stringData })).not.toThrow();
    for (const key of Object.keys(configMap.data)) {
      expect({ key, known: ENV_VARIABLES.includes(key) || key.startsWith('OTEL_') || key === 'NODE_OPTIONS' }).toEqual({ key, known: true });
    }
    expect(Object.keys(secret.stringData).sort()).toEqual(['DATABASE_READONLY_URL', 'DATABASE_URL', 'REDIS_URL']);
  });

  it('routes the Service to the pods', () => {
    const svc = byKind('Service')[0];
    expect(svc.spec.selector).toEqual({ 'app.kubernetes.io/name': 'analytics-gateway' });
    expect(deployment.spec.template.metadata.labels).toEqual(expect.objectContaining(svc.spec.selector));
    expect(svc.spec.ports[0].targetPort).toBe('http');
  });

  it('autoscales 3 to 10 replicas on CPU 70% and memory 80%', () => {
    const hpa = byKind('HorizontalPodAutoscaler')[0];
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([3, 10]);
    const target = (name: string) => hpa.spec.metrics.find((m: any) => m.resource?.name === name)?.resource.target;
    expect(target('cpu')).toEqual({ type: 'Utilization', averageUtilization: 70 });
    expect(target('memory')).toEqual({ type: 'Utilization', averageUtilization: 80 });
  });

  it('lists every manifest but the example Secret in kustomization.yaml', () => {
    const k = byKind('Kustomization')[0];
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'secret.example.yaml');
    expect([...k.resources].sort()).toEqual(files.sort());
  });
});

describe('docker-compose.yml and Dockerfile', () => {
  const compose = yamlOf('docker-compose.yml');

  it('runs Prometheus scraping the gateway with the rules mounted', () => {
    const prom = compose.services.prometheus;
    expect(prom.image).toMatch(/^prom\/prometheus:v\d/);
    const mounts: string[] = prom.volumes.filter((v: string) => v.startsWith('./'));
    for (const m of mounts) expect(fs.existsSync(path.join(ROOT, m.split(':')[0] as string))).toBe(true);
    expect(mounts.some((m) => m.includes('alerts.yml:/etc/prometheus/alerts.yml'))).toBe(true);
    expect(compose.services.gateway.environment.PORT).toBe('4000');
    expect(loadConfig(compose.services.gateway.environment).telemetry.metrics.onPublicPort).toBe('off');
    expect(() => loadConfig(compose.services.gateway.environment)).not.toThrow();
  });

  it('keeps the Dockerfile multi-stage, non-root, starting the compiled entry point', () => {
    const docker = read('Dockerfile');
    expect(docker.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(docker).toMatch(/^USER node$/m);
    expect(docker).toContain('dist/src/main.js');
    expect(docker).toContain('/health/live');
  });
});
