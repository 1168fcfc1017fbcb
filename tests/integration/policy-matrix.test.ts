import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamMembers } from '@/db/schema';
import { buildApp } from '@/server/app';
import { appRouter } from '@/server/api/root';
import { restRoutes } from '@/server/api/rest/routes';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { resolveApiKey } from '@/server/services/api-keys/resolve-api-key';
import { createSession } from '@/server/services/auth/session';
import type { Actor } from '@/server/services/context';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

/**
 * The specification of who may call what, written independently of the policies in the code. A
 * procedure or route missing here fails the test, so nothing ships without a decision.
 */
type Rule = { min: 'public' | 'signedIn' | 'viewer' | 'editor' | 'deployer' | 'admin' | 'instanceAdmin'; scope?: string };
const procedureRules: Record<string, Rule> = {
  'auth.me': { min: 'public' },
  'auth.signUp': { min: 'public' },
  'auth.signIn': { min: 'public' },
  'auth.signOut': { min: 'signedIn' },
  // Emailed links: the token is the credential, so anyone may present one.
  'auth.verifyEmail': { min: 'public' },
  'auth.sendVerification': { min: 'signedIn' },
  'auth.requestPasswordReset': { min: 'public' },
  'auth.resetPassword': { min: 'public' },
  'system.version': { min: 'public' },
  // How Python cells run here: every Python cell shows it to whoever opens the notebook.
  'system.pythonSandbox': { min: 'signedIn' },
  // Instance settings: instance admins only (STAGEBOOK_ADMIN_EMAILS); no team role reaches them
  // (tests/security/instance-settings.test.ts signs in as one).
  'system.instanceSettings': { min: 'instanceAdmin' },
  'system.setPythonUnsandboxed': { min: 'instanceAdmin' },
  'teams.list': { min: 'signedIn' },
  'teams.create': { min: 'signedIn' },
  // Across teams: the services filter by the caller's memberships (tests/security/search-scope.test.ts).
  'search.query': { min: 'signedIn' },
  'search.recent': { min: 'signedIn' },
  'teams.get': { min: 'viewer' },
  'teams.members': { min: 'viewer' },
  'teams.invite': { min: 'admin' },
  'teams.changeRole': { min: 'admin' },
  'teams.removeMember': { min: 'admin' },
  'teams.revokeInvitation': { min: 'admin' },
  'teams.approveInvitation': { min: 'admin' },
  'projects.list': { min: 'viewer' },
  'projects.create': { min: 'editor' },
  'projects.get': { min: 'viewer' },
  'projects.pythonRequirements': { min: 'viewer' },
  // Extra Python packages apply to the project's production runs at once (they are not in bundles):
  // changing what production runs is deployers'.
  'projects.setPythonRequirements': { min: 'deployer' },
  'apiKeys.list': { min: 'admin' },
  'apiKeys.create': { min: 'admin' },
  'apiKeys.revoke': { min: 'admin' },
  'audit.list': { min: 'viewer' },
  'runs.get': { min: 'viewer', scope: 'read' },
  'runs.list': { min: 'viewer', scope: 'read' },
  'datasets.list': { min: 'viewer', scope: 'read' },
  'datasets.get': { min: 'viewer', scope: 'read' },
  'datasets.preview': { min: 'viewer', scope: 'read' },
  'datasets.setColumnType': { min: 'editor' },
  'datasets.metrics': { min: 'viewer', scope: 'read' },
  'datasets.profile': { min: 'viewer', scope: 'read' },
  'pipeline.compile': { min: 'viewer', scope: 'read' },
  'pipeline.cellSchemas': { min: 'public' },
  // Builds: CI/CD may start and cancel them with a `run` key, as it starts runs.
  'builds.start': { min: 'editor', scope: 'run' },
  'builds.get': { min: 'viewer', scope: 'read' },
  'builds.list': { min: 'viewer', scope: 'read' },
  'builds.cancel': { min: 'editor', scope: 'run' },
  'notebooks.list': { min: 'viewer' },
  'notebooks.get': { min: 'viewer' },
  'notebooks.create': { min: 'editor' },
  'notebooks.rename': { min: 'editor' },
  'notebooks.duplicate': { min: 'editor' },
  'notebooks.delete': { min: 'editor' },
  'notebooks.saveVersion': { min: 'editor' },
  'notebooks.listVersions': { min: 'viewer' },
  'notebooks.diffVersions': { min: 'viewer' },
  'notebooks.restoreVersion': { min: 'editor' },
  'notebooks.collabToken': { min: 'viewer' },
  // Previews run the cell's query and store its output for everyone: editors; viewers read outputs and charts.
  'notebooks.runCell': { min: 'editor' },
  'notebooks.cellOutput': { min: 'viewer' },
  'notebooks.outputs': { min: 'viewer' },
  'notebooks.chartData': { min: 'viewer' },
  'models.list': { min: 'viewer', scope: 'read' },
  'models.get': { min: 'viewer', scope: 'read' },
  'models.versions': { min: 'viewer', scope: 'read' },
  'models.versionDetail': { min: 'viewer', scope: 'read' },
  'models.gateDecisions': { min: 'viewer', scope: 'read' },
  'models.algorithms': { min: 'signedIn' },
  'models.train': { min: 'editor' },
  'models.training': { min: 'viewer' },
  'models.cancelTraining': { min: 'editor' },
  // Batch scoring writes a dataset: editors, or CI/CD with a `run` key.
  'models.scoreDataset': { min: 'editor', scope: 'run' },
  'models.evaluate': { min: 'editor', scope: 'run' },
  'models.evaluations': { min: 'viewer', scope: 'read' },
  // Changing what production serves: deployers.
  'models.setChampion': { min: 'deployer' },
  'endpoints.list': { min: 'viewer', scope: 'read' },
  'endpoints.get': { min: 'viewer', scope: 'read' },
  'endpoints.stats': { min: 'viewer', scope: 'read' },
  'endpoints.drift': { min: 'viewer', scope: 'read' },
  'endpoints.shadowComparison': { min: 'viewer', scope: 'read' },
  // Computing drift stores a report (audited): deployers, who act on it.
  'endpoints.computeDrift': { min: 'deployer' },
  'endpoints.create': { min: 'deployer' },
  'endpoints.update': { min: 'deployer' },
  'endpoints.delete': { min: 'deployer' },
  // Notification channels: what production tells the team; webhook secrets and targets are deployers' to manage.
  'notifications.list': { min: 'viewer' },
  'notifications.deliveries': { min: 'viewer' },
  'notifications.create': { min: 'deployer' },
  'notifications.delete': { min: 'deployer' },
  'notifications.test': { min: 'deployer' },
  // Scoring with the endpoint `loans` (set up below): any member, or a key scoped to that endpoint.
  'scoring.predict': { min: 'viewer', scope: 'score:loans' },
  // Bundles: editors promote (and export/import over REST), deployers deploy; CI/CD with a `deploy` key.
  'bundles.preview': { min: 'viewer', scope: 'read' },
  'bundles.promote': { min: 'editor', scope: 'deploy' },
  'bundles.list': { min: 'viewer', scope: 'read' },
  'bundles.get': { min: 'viewer', scope: 'read' },
  'deployments.list': { min: 'viewer', scope: 'read' },
  'deployments.deploy': { min: 'deployer', scope: 'deploy' },
  'deployments.rollback': { min: 'deployer', scope: 'deploy' },
  // Scenarios: production runs are started, cancelled and re-run by deployers, or automation with a `run` key.
  'scenarios.list': { min: 'viewer', scope: 'read' },
  'scenarios.runs': { min: 'viewer', scope: 'read' },
  'scenarios.getRun': { min: 'viewer', scope: 'read' },
  'scenarios.run': { min: 'deployer', scope: 'run' },
  'scenarios.cancelRun': { min: 'deployer', scope: 'run' },
  'scenarios.setEnabled': { min: 'deployer', scope: 'run' },
  'scenarios.rerun': { min: 'deployer', scope: 'run' },
};
const routeRules: Record<string, Rule> = {
  'GET /api/v1/projects/{projectId}': { min: 'viewer', scope: 'read' },
  'GET /api/v1/audit': { min: 'viewer', scope: 'read' },
  'POST /api/v1/projects/{projectId}/builds': { min: 'editor', scope: 'run' },
  'GET /api/v1/projects/{projectId}/runs': { min: 'viewer', scope: 'read' },
  'GET /api/v1/projects/{projectId}/runs/{runId}': { min: 'viewer', scope: 'read' },
  // Loading a dataset: team editors, or a key scoped to that very dataset (`ingest:<name>`).
  'POST /api/v1/projects/{projectId}/datasets': { min: 'editor', scope: 'ingest:loans' },
  'POST /api/v1/projects/{projectId}/datasets/{name}/rows': { min: 'editor', scope: 'ingest:loans' },
  'POST /api/v1/projects/{projectId}/models/{name}/versions': { min: 'editor' },
  'POST /api/v1/projects/{projectId}/models/{name}/versions/{version}/evaluations': { min: 'editor', scope: 'run' },
  'POST /api/v1/endpoints/{name}/predict': { min: 'viewer', scope: 'score:loans' },
  'GET /api/v1/projects/{projectId}/bundles': { min: 'viewer', scope: 'read' },
  'POST /api/v1/projects/{projectId}/bundles': { min: 'editor', scope: 'deploy' },
  'GET /api/v1/projects/{projectId}/bundles/{hash}/export': { min: 'editor', scope: 'deploy' },
  'POST /api/v1/projects/{projectId}/bundles/import': { min: 'editor', scope: 'deploy' },
  'GET /api/v1/projects/{projectId}/deployments': { min: 'viewer', scope: 'read' },
  'POST /api/v1/projects/{projectId}/deployments': { min: 'deployer', scope: 'deploy' },
  'POST /api/v1/projects/{projectId}/deployments/rollback': { min: 'deployer', scope: 'deploy' },
  'POST /api/v1/projects/{projectId}/scenarios/{name}/runs': { min: 'deployer', scope: 'run' },
  // Reading data: scratch queries and CSV downloads, for members and `read` keys.
  'POST /api/v1/projects/{projectId}/query': { min: 'viewer', scope: 'read' },
  'GET /api/v1/projects/{projectId}/notebooks/{notebookId}/cells/{cellId}/result.csv': { min: 'viewer', scope: 'read' },
  'GET /api/v1/projects/{projectId}/notebooks/{notebookId}/cells/{cellId}/rows': { min: 'viewer', scope: 'read' },
  'GET /api/v1/projects/{projectId}/datasets/{name}/rows.csv': { min: 'viewer', scope: 'read' },
};

const identities = ['anonymous', 'outsider', 'viewer', 'editor', 'deployer', 'admin', 'key:read', 'key:run', 'key:ingest:loans', 'key:score:loans', 'key:deploy', 'key:other-project'] as const;
type Identity = (typeof identities)[number];
const rank = ['viewer', 'editor', 'deployer', 'admin'];

function allowed(rule: Rule, who: Identity): boolean {
  if (rule.min === 'public') return true;
  // None of these identities is an instance admin.
  if (rule.min === 'instanceAdmin') return false;
  if (who === 'anonymous') return false;
  if (who.startsWith('key:')) return rule.min !== 'signedIn' && rule.scope !== undefined && who === `key:${rule.scope}`;
  if (rule.min === 'signedIn') return true;
  if (who === 'outsider') return false;
  return rank.indexOf(who) >= rank.indexOf(rule.min);
}

describe('every procedure and route is authorised exactly as specified, for every role', () => {
  let t: TestDatabase;
  const actors = new Map<Identity, Actor | null>();
  const bearer = new Map<Identity, Record<string, string>>();
  let ids: { teamId: string; projectId: string };
  let runId = '00000000-0000-4000-8000-000000000000';

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    const admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Matrix' });
    const project = await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'P' });
    const otherProject = await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Q' });
    ids = { teamId: team.id, projectId: project.id };
    actors.set('anonymous', null);
    actors.set('admin', admin);
    bearer.set('anonymous', {});
    for (const who of ['outsider', 'viewer', 'editor', 'deployer'] as const) {
      const u = await newUser(t.db, who);
      if (who !== 'outsider') await t.db.insert(teamMembers).values({ teamId: team.id, userId: u.userId, role: who });
      actors.set(who, u);
    }
    for (const who of ['outsider', 'viewer', 'editor', 'deployer', 'admin'] as const) {
      const actor = actors.get(who) as Extract<Actor, { type: 'user' }>;
      const { token } = await createSession(t.db, actor.userId);
      bearer.set(who, { cookie: `sb_session=${token}` });
    }
    const sys = ctxFor(t.db, { type: 'system', name: 'test' });
    for (const [who, scope, pid] of [
      ['key:read', 'read', project.id],
      ['key:run', 'run', project.id],
      ['key:ingest:loans', 'ingest:loans', project.id],
      ['key:score:loans', 'score:loans', project.id],
      ['key:deploy', 'deploy', project.id],
      ['key:other-project', 'read', otherProject.id],
    ] as const) {
      const key = await createApiKey({ ctx: sys, input: { projectId: pid, name: who, scopes: [scope] } });
      actors.set(who, await resolveApiKey(t.db, key.secret));
      bearer.set(who, { authorization: `Bearer ${key.secret}` });
    }
    runId = (await t.query('select gen_random_uuid() as id'))[0]!.id as string;
    await tinyEndpoint(t.db, admin, project.id, 'loans');
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('has a rule for every tRPC procedure and every REST route, and no stale rules', () => {
    const procedures = Object.keys(appRouter._def.procedures).sort();
    expect(procedures).toEqual(Object.keys(procedureRules).sort());
    const routes = restRoutes.map((r) => `${r.method} ${r.path}`).sort();
    expect(routes).toEqual(Object.keys(routeRules).sort());
    for (const [name, proc] of Object.entries(appRouter._def.procedures)) {
      expect((proc as unknown as { _def: { meta?: { policy?: unknown } } })._def.meta?.policy, `${name} declares a policy`).toBeDefined();
    }
  });

  it('lets through exactly the allowed identities on every tRPC procedure', async () => {
    const mismatches: string[] = [];
    for (const [name, rule] of Object.entries(procedureRules)) {
      for (const who of identities) {
        // Only the ids the policy needs: allowed callers get past the policy and then fail validation
        // or succeed; refused callers are stopped before any service runs.
        const input = { ...ids, runId, endpoint: 'loans' };
        const caller = callerFor(t.db, actors.get(who) ?? null) as unknown as Record<string, Record<string, (i: unknown) => Promise<unknown>>>;
        const [ns, proc] = name.split('.') as [string, string];
        let code = 'OK';
        try {
          // Sign-in and sign-up get an empty body: here only the gate matters (accounts.test.ts uses real ones).
          await caller[ns]![proc]!(name.startsWith('auth.sign') ? {} : input);
        } catch (err) {
          code = err instanceof TRPCError ? err.code : 'THROWN';
        }
        const denied = code === 'UNAUTHORIZED' || code === 'FORBIDDEN';
        if (denied === allowed(rule, who)) mismatches.push(`${name} as ${who}: got ${code}, expected ${allowed(rule, who) ? 'allowed' : 'denied'}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('lets through exactly the allowed identities on every REST route', async () => {
    const app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
    const mismatches: string[] = [];
    for (const route of restRoutes) {
      const rule = routeRules[`${route.method} ${route.path}`]!;
      const query = route.path === '/api/v1/audit' ? `?projectId=${ids.projectId}` : route.path.endsWith('/datasets') ? '?name=loans' : '';
      const url = route.path.replace('{projectId}', ids.projectId).replace('{runId}', runId).replace('{name}', 'loans').replace('{version}', '1') + query;
      for (const who of identities) {
        const res = await app.inject({ method: route.method, url, headers: bearer.get(who), ...(route.body ? { payload: {} } : {}) });
        const denied = res.statusCode === 401 || res.statusCode === 403;
        if (res.statusCode >= 500) mismatches.push(`${route.method} ${route.path} as ${who}: ${res.statusCode} ${res.body}`);
        if (denied === allowed(rule, who)) mismatches.push(`${route.method} ${route.path} as ${who}: got ${res.statusCode}, expected ${allowed(rule, who) ? 'allowed' : 'denied'}`);
      }
    }
    await app.close();
    expect(mismatches).toEqual([]);
  });
});
