import { and, asc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import type { DbOrTx } from '@/db/client';
import { datasets, models, notificationChannels, type Environment } from '@/db/schema';
import { compileNotebook, type CompileResult, type NotebookSnapshot, type PipelineGraph, type ScenarioOutline, type SourceDataset } from '@/server/pipeline';
import { notebookSnapshot } from '../../domain/notebook-doc';
import type { ServiceCtx } from '../context';
import { currentNotebookState, withDoc } from '../notebooks/live';
import { requireNotebook } from '../notebooks/notebook-rows';
import type { CompileNotebookInput } from './schemas';

export type CompileDiagnostic = { cellId: string; line: number; column?: number; severity: 'error' | 'warning'; code: string; message: string };
export type CompiledNotebook = { graph: PipelineGraph; hash: string; diagnostics: CompileDiagnostic[]; ok: boolean; scenarios: Record<string, ScenarioOutline> };

/**
 * Compiles a notebook as its users see it now (the live document when the collaboration server holds
 * it, else storage) against the project's source datasets of the environment and its registered models
 * (a score cell of a model neither registered nor trained by the notebook gets a warning).
 */
export async function compileNotebookNow({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof CompileNotebookInput> }): Promise<CompiledNotebook> {
  const { result } = await compileCurrentNotebook(ctx, input, 'design');
  return { graph: result.graph, hash: result.hash, diagnostics: result.diagnostics, ok: result.ok, scenarios: result.scenarios };
}

/** The compile result with its canonical JSON, for callers that store the graph (builds). */
export async function compileCurrentNotebook(
  ctx: ServiceCtx,
  ref: { projectId: string; notebookId: string },
  environment: Environment,
): Promise<{ result: CompileResult; snapshot: NotebookSnapshot }> {
  const notebook = await requireNotebook(ctx.db, ref.projectId, ref.notebookId);
  const state = await currentNotebookState(ctx.db, ctx.liveNotebooks, notebook.id);
  const snapshot = withDoc(state, notebookSnapshot);
  const [sources, modelNames, channels] = await Promise.all([
    sourceDatasets(ctx.db, ref.projectId, environment),
    registeredModels(ctx.db, ref.projectId),
    ctx.db.select({ name: notificationChannels.name }).from(notificationChannels).where(eq(notificationChannels.projectId, ref.projectId)),
  ]);
  const result = await compileNotebook(snapshot, sources, { models: modelNames, channels: channels.map((c) => c.name) });
  return { result, snapshot };
}

/** Uploaded and ingested datasets: what exists before any cell runs. Built ones are the cells' outputs. */
export async function sourceDatasets(db: DbOrTx, projectId: string, environment: Environment): Promise<SourceDataset[]> {
  const rows = await db
    .select({ name: datasets.name, columns: datasets.columns })
    .from(datasets)
    .where(and(eq(datasets.projectId, projectId), eq(datasets.environment, environment), eq(datasets.kind, 'source')))
    .orderBy(asc(datasets.name));
  return rows;
}

/** The project's model names (models are per project, shared by its environments). */
async function registeredModels(db: DbOrTx, projectId: string): Promise<string[]> {
  const rows = await db.select({ name: models.name }).from(models).where(eq(models.projectId, projectId)).orderBy(asc(models.name));
  return rows.map((r) => r.name);
}
