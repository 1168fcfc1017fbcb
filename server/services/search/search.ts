import { and, desc, eq, ilike, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { datasets, endpoints, models, notebooks, projects, scenarios, teamMembers, teams } from '@/db/schema';
import { notebookSnapshot } from '../../domain/notebook-doc';
import { requireUser, type ServiceCtx } from '../context';
import { currentNotebookState, withDoc } from '../notebooks/live';

export const searchKinds = ['project', 'notebook', 'cell', 'dataset', 'model', 'endpoint', 'scenario'] as const;
export type SearchKind = (typeof searchKinds)[number];

export const SearchInput = z.object({
  q: z.string({ error: 'q must be text' }).trim().min(1, 'Type something to search for').max(100, 'q must be at most 100 characters'),
  limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1, 'limit must be at least 1').max(50, 'limit must be at most 50').default(20),
});

export type SearchHit = {
  kind: SearchKind;
  /** What the hit is called: a name, or for a cell its notebook's name and the cell's title or kind. */
  name: string;
  teamId: string;
  teamName: string;
  projectId: string;
  projectName: string;
  /** notebook and cell hits: the notebook; cell hits: the cell. */
  notebookId?: string;
  cellId?: string;
  /** dataset hits: design or production. */
  environment?: 'design' | 'production';
  /** The line that matched (cells, descriptions). */
  snippet?: string;
};

/** Notebooks whose cells are read per search: the most recently edited first. */
const MAX_NOTEBOOKS_SCANNED = 200;

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * One search across what the caller may see: the projects of the teams they are a member of (any
 * role), and in them notebooks, cells, datasets (both environments), models, endpoints and the
 * scenarios production runs. Names and descriptions match in Postgres (ILIKE); cells are read from the
 * notebooks' documents (the live copy when open here). The team filter is applied first, in SQL:
 * nothing of another team is read, so nothing of it can leak into a hit.
 */
export async function search({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof SearchInput> }): Promise<SearchHit[]> {
  const user = requireUser(ctx);
  const visible = await ctx.db
    .select({ projectId: projects.id, projectName: projects.name, description: projects.description, teamId: teams.id, teamName: teams.name })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .innerJoin(projects, eq(projects.teamId, teams.id))
    .where(eq(teamMembers.userId, user.userId));
  if (visible.length === 0) return [];
  const byProject = new Map(visible.map((p) => [p.projectId, p]));
  const ids = [...byProject.keys()];
  const q = input.q;
  const needle = q.toLowerCase();
  const like = `%${escapeLike(q)}%`;
  const hits: SearchHit[] = [];
  const where = (projectId: string) => {
    const p = byProject.get(projectId)!;
    return { teamId: p.teamId, teamName: p.teamName, projectId, projectName: p.projectName };
  };

  for (const p of visible) {
    if (p.projectName.toLowerCase().includes(needle) || p.description.toLowerCase().includes(needle)) {
      hits.push({ kind: 'project', name: p.projectName, ...where(p.projectId), ...(p.description ? { snippet: p.description } : {}) });
    }
  }

  const named = async <T extends { projectId: string; name: string }>(rows: Promise<T[]>, kind: SearchKind, extra: (row: T) => Partial<SearchHit> = () => ({})) => {
    for (const row of await rows) hits.push({ kind, name: row.name, ...where(row.projectId), ...extra(row) });
  };
  const inProjects = (col: Parameters<typeof inArray>[0], ...more: (SQL | undefined)[]) => and(inArray(col, ids), ...more);
  await Promise.all([
    named(
      ctx.db.select({ projectId: notebooks.projectId, name: notebooks.name, id: notebooks.id }).from(notebooks).where(inProjects(notebooks.projectId, isNull(notebooks.deletedAt), ilike(notebooks.name, like))).limit(input.limit),
      'notebook',
      (n) => ({ notebookId: n.id }),
    ),
    named(
      ctx.db.select({ projectId: datasets.projectId, name: datasets.name, environment: datasets.environment }).from(datasets).where(inProjects(datasets.projectId, ilike(datasets.name, like))).limit(input.limit),
      'dataset',
      (d) => ({ environment: d.environment }),
    ),
    named(ctx.db.select({ projectId: models.projectId, name: models.name }).from(models).where(inProjects(models.projectId, ilike(models.name, like))).limit(input.limit), 'model'),
    named(
      ctx.db
        .select({ projectId: endpoints.projectId, name: endpoints.name, description: endpoints.description })
        .from(endpoints)
        .where(inProjects(endpoints.projectId, or(ilike(endpoints.name, like), ilike(endpoints.description, like))))
        .limit(input.limit),
      'endpoint',
      (e) => (e.description ? { snippet: e.description } : {}),
    ),
    named(
      ctx.db
        .select({ projectId: scenarios.projectId, name: scenarios.name, description: sql<string>`coalesce(${scenarios.spec}->>'description', '')` })
        .from(scenarios)
        .where(inProjects(scenarios.projectId, or(ilike(scenarios.name, like), ilike(sql`coalesce(${scenarios.spec}->>'description', '')`, like))))
        .limit(input.limit),
      'scenario',
      (s) => (s.description ? { snippet: s.description } : {}),
    ),
  ]);

  hits.push(...(await cellHits(ctx, ids, needle, input.limit, where)));
  return rank(hits, needle).slice(0, input.limit);
}

async function cellHits(ctx: ServiceCtx, projectIds: string[], needle: string, limit: number, where: (projectId: string) => Pick<SearchHit, 'teamId' | 'teamName' | 'projectId' | 'projectName'>): Promise<SearchHit[]> {
  const rows = await ctx.db
    .select({ id: notebooks.id, projectId: notebooks.projectId, name: notebooks.name })
    .from(notebooks)
    .where(and(inArray(notebooks.projectId, projectIds), isNull(notebooks.deletedAt)))
    .orderBy(desc(notebooks.updatedAt))
    .limit(MAX_NOTEBOOKS_SCANNED);
  const hits: SearchHit[] = [];
  for (const nb of rows) {
    const state = await currentNotebookState(ctx.db, ctx.liveNotebooks, nb.id);
    const { cells } = withDoc(state, notebookSnapshot);
    for (const cell of cells) {
      const title = cell.title ?? '';
      const line = cell.source.split('\n').find((l) => l.toLowerCase().includes(needle));
      if (line === undefined && !title.toLowerCase().includes(needle)) continue;
      hits.push({
        kind: 'cell',
        name: `${nb.name} · ${title || `${cell.kind} cell`}`,
        ...where(nb.projectId),
        notebookId: nb.id,
        cellId: cell.id,
        snippet: (line ?? title).trim().slice(0, 160),
      });
      if (hits.length >= limit) return hits;
    }
  }
  return hits;
}

/** Exact names first, then names that start with the search, then the rest; kinds in a fixed order. */
function rank(hits: SearchHit[], needle: string): SearchHit[] {
  const score = (h: SearchHit) => {
    const name = h.name.toLowerCase();
    return name === needle ? 0 : name.startsWith(needle) ? 1 : name.includes(needle) ? 2 : 3;
  };
  return hits
    .map((h, i) => ({ h, i }))
    .sort((a, b) => score(a.h) - score(b.h) || searchKinds.indexOf(a.h.kind) - searchKinds.indexOf(b.h.kind) || a.i - b.i)
    .map((x) => x.h);
}
