import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { EnvSchema, loadEnv, roles } from '@/server/env';
import { LIVENESS_PATH, READINESS_PATH } from '@/server/health';
import { metricsRegistry } from '@/server/metrics/registry';

/**
 * deploy/ is not run here (no container engine): these checks stand in. Each file parses; every
 * variable a recipe sets is one the server validates, with a value it accepts; ports, probes and
 * scrape targets agree with what the server listens on; the dashboard asks for metrics that exist.
 */
const deployDir = path.resolve(import.meta.dirname, '../../deploy');
const read = (p: string) => readFileSync(path.join(deployDir, p), 'utf8');
const knownVariables = new Set(Object.keys(EnvSchema.shape));

type Obj = Record<string, unknown>;
const obj = (v: unknown, what: string): Obj => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} is not a mapping`);
  return v as Obj;
};
const strings = (env: Obj) => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
const unknownOf = (env: Record<string, string>) => Object.keys(env).filter((k) => !knownVariables.has(k));

describe('deploy/compose.yaml', () => {
  const compose = obj(parseYaml(read('compose.yaml'), { merge: true }), 'compose.yaml');
  const services = obj(compose.services, 'services');
  const stagebook = Object.entries(services).filter(([, s]) => obj(s, 'service').image === 'stagebook:local');

  it('runs migrate, web, api and worker from the Stagebook image, and Postgres, Temporal and Prometheus beside them', () => {
    expect(stagebook.map(([name]) => name).sort()).toEqual(['api', 'migrate', 'web', 'worker']);
    for (const name of ['postgres', 'temporal', 'prometheus']) expect(services[name], name).toBeDefined();
    expect(obj(services.temporal, 'temporal').environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' });
    for (const [name, s] of stagebook) {
      const command = obj(s, name).command as string[];
      if (name === 'migrate') expect(command).toEqual(['migrate']);
      else expect(command).toEqual(['start', '--role', name]);
    }
  });

  it("sets only variables the server validates, with values it accepts", () => {
    for (const [name, s] of stagebook) {
      const env = strings(obj(obj(s, name).environment, `${name}.environment`));
      expect(unknownOf(env), name).toEqual([]);
      expect(() => loadEnv(env), name).not.toThrow();
    }
  });

  it('publishes, health-checks and scrapes the ports the roles listen on', () => {
    const prometheus = obj(parseYaml(read('prometheus/prometheus.yml')), 'prometheus.yml');
    const targets = (prometheus.scrape_configs as { static_configs: { targets: string[] }[] }[]).flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    for (const [name, s] of stagebook.filter(([n]) => n !== 'migrate')) {
      const service = obj(s, name);
      const env = loadEnv(strings(obj(service.environment, name)));
      for (const mapping of (service.ports as string[] | undefined) ?? []) expect(Number(mapping.split(':').at(-1)), `${name} ports`).toBe(env.PORT);
      const check = (obj(service.healthcheck, `${name}.healthcheck`).test as string[]).join(' ');
      expect(check, name).toContain(`:${env.PORT}${READINESS_PATH}`);
      expect(targets, name).toContain(`${name}:${env.METRICS_PORT}`);
      // A loopback listener could not be reached by the Prometheus container.
      expect(env.METRICS_HOST, name).not.toMatch(/^127\.|^localhost$|^::1$/);
    }
  });
});

describe('deploy/kubernetes', () => {
  const dir = path.join(deployDir, 'kubernetes');
  const kustomization = obj(parseYaml(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')), 'kustomization');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  const docs = files.flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => {
      if (d.errors.length) throw new Error(`${f}: ${d.errors[0]!.message}`);
      return { file: f, ...(d.toJS() as Obj) } as Obj & { file: string; kind: string; metadata: { name: string } };
    }),
  );
  const ofKind = (kind: string) => docs.filter((d) => d.kind === kind);
  const configMap = obj(ofKind('ConfigMap')[0]?.data, 'ConfigMap data');
  const secret = obj(ofKind('Secret')[0]?.stringData, 'Secret stringData');
  type Container = { args: string[]; env?: { name: string; value: string }[]; ports?: { name: string; containerPort: number }[]; readinessProbe?: Obj; livenessProbe?: Obj };
  const podOf = (d: Obj) => obj(obj(d.spec, 'spec').template, 'template') as { metadata: { labels: Obj; annotations?: Obj }; spec: { containers: Container[] } };
  const deployments = ofKind('Deployment');

  it('lists every file in the kustomization and has a Deployment per role, an autoscaler for api, disruption budgets and a migration Job', () => {
    expect([...(kustomization.resources as string[])].sort()).toEqual([...files].sort());
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['stagebook-api', 'stagebook-web', 'stagebook-worker']);
    const hpa = ofKind('HorizontalPodAutoscaler');
    expect(hpa.map((h) => obj(obj(h.spec, 'spec').scaleTargetRef, 'ref').name)).toEqual(['stagebook-api']);
    expect(ofKind('PodDisruptionBudget').length).toBeGreaterThanOrEqual(2);
    const job = ofKind('Job')[0]!;
    expect(podOf(job).spec.containers[0]!.args).toEqual(['migrate']);
  });

  it('sets only variables the server validates, with values it accepts, in every role', () => {
    expect(unknownOf(strings(configMap))).toEqual([]);
    expect(unknownOf(strings(secret))).toEqual([]);
    for (const d of [...deployments, ...ofKind('Job')]) {
      for (const c of podOf(d).spec.containers) {
        const own = Object.fromEntries((c.env ?? []).map((e) => [e.name, String(e.value)]));
        expect(unknownOf(own), d.metadata.name).toEqual([]);
        const env = loadEnv({ ...strings(configMap), ...strings(secret), ...own });
        if (d.kind === 'Deployment') {
          const role = c.args[c.args.indexOf('--role') + 1];
          expect(roles).toContain(role);
          expect(env.STAGEBOOK_ROLE, d.metadata.name).toBe(role);
        }
      }
    }
  });

  it('probes readiness (/api/health) and liveness (/api/live) on the port the server listens on, and scrapes METRICS_PORT', () => {
    const env = loadEnv({ ...strings(configMap), ...strings(secret) });
    for (const d of deployments) {
      const pod = podOf(d);
      const c = pod.spec.containers[0]!;
      const ports = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]));
      expect(ports, d.metadata.name).toEqual({ http: env.PORT, metrics: env.METRICS_PORT });
      // Readiness checks the database and Temporal; liveness only that the process answers, so an
      // outage of either takes pods out of the Service without restarting them all.
      for (const [probe, path] of [[c.readinessProbe, READINESS_PATH], [c.livenessProbe, LIVENESS_PATH]] as const) {
        const get = obj(obj(probe, 'probe').httpGet, 'httpGet');
        expect(get.path, d.metadata.name).toBe(path);
        expect(ports[get.port as string]).toBe(env.PORT);
      }
      expect(pod.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(env.METRICS_PORT), 'prometheus.io/path': '/metrics' });
      expect(env.METRICS_HOST).not.toMatch(/^127\.|^localhost$/);
    }
    for (const s of ofKind('Service')) {
      const spec = obj(s.spec, 'spec');
      const target = deployments.find((d) => Object.entries(obj(spec.selector, 'selector')).every(([k, v]) => podOf(d).metadata.labels[k] === v));
      expect(target, s.metadata.name).toBeDefined();
      const names = (podOf(target!).spec.containers[0]!.ports ?? []).map((p) => p.name);
      for (const p of spec.ports as { targetPort: string }[]) expect(names).toContain(p.targetPort);
    }
    for (const p of ofKind('PodDisruptionBudget')) {
      const sel = obj(obj(obj(p.spec, 'spec').selector, 'selector').matchLabels, 'matchLabels');
      expect(deployments.some((d) => Object.entries(sel).every(([k, v]) => podOf(d).metadata.labels[k] === v)), p.metadata.name).toBe(true);
    }
  });
});

describe('deploy/grafana/stagebook-dashboard.json', () => {
  it("asks only for metrics the processes export", async () => {
    const dashboard = JSON.parse(read('grafana/stagebook-dashboard.json')) as { panels: { targets: { expr: string }[] }[] };
    const exported = new Set<string>();
    for (const m of await metricsRegistry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_count', '_sum']) exported.add(m.name + s);
    }
    // The Temporal worker's own series, which tests/integration/metrics.test.ts finds on a worker's /metrics.
    exported.add('temporal_worker_task_slots_available');
    const asked = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\b(stagebook|process|nodejs|temporal)_[a-z0-9_]+/g) ?? [])));
    expect(asked.size).toBeGreaterThan(10);
    expect([...asked].filter((n) => !exported.has(n))).toEqual([]);
  });
});
