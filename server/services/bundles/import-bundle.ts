import { and, asc, eq, sql } from 'drizzle-orm';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { bundles, models, modelVersions } from '@/db/schema';
import { MlInputError } from '@/server/ml/errors';
import { describeRequirementProblems, parsePythonRequirements } from '@/server/domain/python-requirements';
import { FeatureSchema } from '@/server/ml/onnx/feature-schema';
import { decodeModel } from '@/server/ml/onnx/proto';
import { assertSelfContainedOnnx } from '@/server/ml/onnx/safety';
import type { DbOrTx } from '@/db/client';
import { emitAudit, type AuditMeta } from '../audit/emit';
import { actorLabel, auditMetaOf, type ServiceCtx } from '../context';
import { invalid } from '../errors';
import { teamOfProject } from '../endpoints/find-endpoint';
import { putArtifact } from '../models/artifacts';
import { managedPythonPins } from '../projects/python-requirements';
import type { VersionMetrics } from '../models/model-view';
import { registerModelVersion } from '../models/register-version';
import { readArchive, type ArchiveContent } from './archive';
import { activeBundleHash, bundleIfExists, bundleSummary, type BundleSummary } from './bundle-view';
import { BUNDLE_FORMAT, manifestArtifacts, sha256Hex, type BundleManifest } from './manifest';

const Name = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/);
const Sha = z.string().regex(/^[0-9a-f]{64}$/);
/** What an import relies on in a manifest; the rest is carried as it is (it is covered by the hash). */
const ImportedManifest = z.looseObject({
  format: z.literal(BUNDLE_FORMAT),
  graph: z.looseObject({ hash: Sha, graph: z.looseObject({}) }),
  cells: z.array(z.looseObject({ id: z.string(), kind: z.string(), source: z.string() })),
  models: z.array(
    z.looseObject({
      name: Name,
      version: z.number().int().min(1),
      algorithm: z.string(),
      artifact: z.object({ sha256: Sha, size: z.number().int().nonnegative(), mediaType: z.string() }),
      spec: z.record(z.string(), z.unknown()),
      featureSchema: z.record(z.string(), z.unknown()),
      metrics: z.record(z.string(), z.unknown()).nullable(),
      trainingData: z.record(z.string(), z.unknown()).nullable(),
    }),
  ),
  scenarios: z.array(z.looseObject({ cellId: z.string(), source: z.string() })),
  endpoints: z.array(z.looseObject({ name: Name, model: Name, description: z.string(), threshold: z.number().min(0).max(1).optional() })),
  python: z.strictObject({ requirements: z.string().max(20_000) }).optional(),
});

export type ImportResult = { bundle: BundleSummary; created: boolean; modelVersionsCreated: { model: string; version: number; artifactSha256: string }[] };

const bad = (msg: string) => invalid(`the bundle file is not valid: ${msg}`, 'file');

/** A bundle's ONNX files get the same refusal as a direct import (external data, custom operators). */
function assertServableOnnx(bytes: Uint8Array, model: string): void {
  try {
    assertSelfContainedOnnx(decodeModel(bytes));
  } catch (err) {
    if (err instanceof MlInputError) throw bad(`model "${model}": ${err.message}`);
    throw bad(`model "${model}": its artifact is not an ONNX model (${(err as Error).message})`);
  }
}

/**
 * Imports an exported bundle into a project. Every hash and size is verified and the manifest
 * checked before anything is written; then, in one transaction, the artifacts, the models and
 * model versions the bundle names that the project lacks (by artifact sha256; source `imported`),
 * and the bundle itself. Importing a bundle the project has is a no-op. Audited `bundle.import`.
 */
export async function importBundle({ ctx, input, body }: { ctx: ServiceCtx; input: { projectId: string }; body: AsyncIterable<Buffer | Uint8Array> | Uint8Array }): Promise<ImportResult> {
  const meta = auditMetaOf(ctx);
  const archive = await readArchive(body);
  const manifest = verifiedManifest(archive);
  const hash = sha256Hex(archive.manifest);

  const existing = await bundleIfExists(ctx.db, input.projectId, hash);
  if (existing) return { bundle: bundleSummary(existing, await activeBundleHash(ctx.db, input.projectId)), created: false, modelVersionsCreated: [] };

  const by = actorLabel(meta.actor).actorLabel;
  const sizeBytes = Buffer.byteLength(archive.manifest) + manifestArtifacts(manifest).reduce((n, a) => n + a.size, 0);
  const outcome = await ctx.db.transaction(async (tx) => {
    // Concurrent imports of one bundle into one project: the second waits here, then finds it.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`stagebook:bundle:${input.projectId}:${hash}`}, 0))`);
    if (await bundleIfExists(tx, input.projectId, hash)) return null;
    // Every artifact first: the ONNX files, and the training-row digests their versions refer to.
    for (const a of manifestArtifacts(manifest)) await putArtifact(tx, archive.artifacts.get(a.sha256)!, a.mediaType);
    const created = await importModelVersions(tx, meta, input.projectId, manifest, archive, hash);
    const [row] = await tx
      .insert(bundles)
      .values({
        projectId: input.projectId,
        hash,
        manifest: archive.manifest,
        releaseNotes: archive.index.releaseNotes,
        origin: 'import',
        notebookId: null,
        builtOverFailure: archive.index.builtOverFailure,
        sizeBytes,
        createdBy: by,
      })
      .returning();
    if (!row) throw new Error('bundle insert returned no row');
    await emitAudit(tx, meta, {
      action: 'bundle.import',
      target: { type: 'bundle', id: hash },
      teamId: await teamOfProject(tx, input.projectId),
      projectId: input.projectId,
      details: {
        bundleHash: hash,
        exportedBy: archive.index.createdBy,
        promotedAt: archive.index.createdAt,
        builtOverFailure: archive.index.builtOverFailure,
        modelVersionsCreated: created,
        sizeBytes,
      },
    });
    return { row, created };
  });
  const final = outcome?.row ?? (await bundleIfExists(ctx.db, input.projectId, hash));
  if (!final) throw new Error('bundle vanished after a concurrent import');
  return { bundle: bundleSummary(final, await activeBundleHash(ctx.db, input.projectId)), created: outcome !== null, modelVersionsCreated: outcome?.created ?? [] };
}

/**
 * The manifest, checked against the archive: JSON in canonical form and of the expected shape, its
 * models' schemas valid and ONNX servable, every artifact it uses held at its size, every
 * endpoint's model in the bundle.
 */
function verifiedManifest(archive: ArchiveContent): BundleManifest {
  let json: unknown;
  try {
    json = JSON.parse(archive.manifest);
  } catch {
    throw bad('manifest.json is not JSON');
  }
  if (canonicalize(json) !== archive.manifest) throw bad('manifest.json is not in canonical form (RFC 8785)');
  const checked = ImportedManifest.safeParse(json);
  if (!checked.success) throw bad(`manifest.json: ${checked.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const manifest = json as BundleManifest;
  for (const m of manifest.models) {
    if (!FeatureSchema.safeParse(m.featureSchema).success) throw bad(`manifest.json: model "${m.name}" has an invalid feature schema`);
    const bytes = archive.artifacts.get(m.artifact.sha256);
    if (bytes) assertServableOnnx(bytes, m.name);
  }
  const listed = new Set(archive.index.artifacts.map((a) => a.sha256));
  for (const a of manifestArtifacts(manifest)) {
    if (!listed.has(a.sha256)) throw bad(`the manifest uses artifact ${a.sha256}, which the file does not hold`);
    if (archive.artifacts.get(a.sha256)!.byteLength !== a.size) throw bad(`artifact ${a.sha256} does not have the size the manifest says`);
  }
  for (const e of manifest.endpoints) {
    if (!manifest.models.some((m) => m.name === e.model)) throw bad(`manifest.json: endpoint "${e.name}" serves model "${e.model}", which the bundle does not hold`);
  }
  if (manifest.python) assertInstallableRequirements(manifest.python.requirements);
  return manifest;
}

/**
 * Production runs pip-install a bundle's requirements on this host: they must pass the rules a
 * project's own list does (pinned `name==version` lines only, nothing the managed Python holds),
 * already in the normalised form a promotion writes, so what is installed is what was hashed.
 */
function assertInstallableRequirements(text: string): void {
  const parsed = parsePythonRequirements(text, managedPythonPins);
  if (!parsed.ok) throw bad(`manifest.json: python.requirements cannot be installed here:\n${describeRequirementProblems(parsed.problems)}`);
  if (parsed.text !== text) throw bad('manifest.json: python.requirements is not in the normalised form a promotion writes (one sorted name==version a line)');
}

/** A version of each bundled model whose artifact the project does not hold yet (audited `model.import`). */
async function importModelVersions(tx: DbOrTx, meta: AuditMeta, projectId: string, manifest: BundleManifest, archive: ArchiveContent, hash: string): Promise<ImportResult['modelVersionsCreated']> {
  const created: ImportResult['modelVersionsCreated'] = [];
  for (const m of manifest.models) {
    const bytes = archive.artifacts.get(m.artifact.sha256)!;
    const [have] = await tx
      .select({ version: modelVersions.version })
      .from(models)
      .innerJoin(modelVersions, eq(modelVersions.modelId, models.id))
      .where(and(eq(models.projectId, projectId), eq(models.name, m.name), eq(modelVersions.artifactSha256, m.artifact.sha256)))
      .orderBy(asc(modelVersions.version))
      .limit(1);
    if (have) continue;
    const registered = await registerModelVersion(
      tx,
      meta,
      {
        projectId,
        modelName: m.name,
        source: 'imported',
        bytes,
        algorithm: m.algorithm,
        spec: m.spec,
        featureSchema: FeatureSchema.parse(m.featureSchema),
        metrics: m.metrics as VersionMetrics | null,
        trainingData: m.trainingData as never,
      },
      { action: 'model.import', details: { bundleHash: hash, sourceVersion: m.version } },
    );
    created.push({ model: m.name, version: registered.version.version, artifactSha256: m.artifact.sha256 });
  }
  return created;
}
