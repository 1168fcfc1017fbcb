'use client';

import './models.css';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { formatDateTime } from '../format';
import { applyListView, byNumberDesc, byText, byTimeDesc, type ListView, type SortOption } from '../list-view';
import { useTRPC } from '../trpc';
import { Card, EmptyState, ErrorMessage, Loading } from '../ui';
import { formatAuc } from './format';
import { useAlgorithmLabel } from './algorithms';
import { endpointHref, endpointsHref, modelHref, modelsHref, trainHref, type ModelSummary } from './types';

export const modelSorts: SortOption<ModelSummary>[] = [
  { value: 'name', label: 'Name', compare: byText((m) => m.name) },
  { value: 'updated', label: 'Recently updated', compare: byTimeDesc((m) => m.updatedAt) },
  { value: 'auc', label: 'Best AUC', compare: byNumberDesc((m) => m.champion?.auc?.auc ?? null) },
  { value: 'versions', label: 'Most versions', compare: byNumberDesc((m) => m.versionCount) },
];

/** The project's models with their champions, and the endpoints serving them. */
export function ModelsSection({ projectId, canEdit, view, showAll }: { projectId: string; canEdit: boolean; view?: ListView; showAll?: boolean }) {
  const trpc = useTRPC();
  const algorithmLabel = useAlgorithmLabel();
  const models = useQuery(trpc.models.list.queryOptions({ projectId }));
  const endpoints = useQuery(trpc.endpoints.list.queryOptions({ projectId }));
  const rows = models.data
    ? applyListView(models.data, view, {
        text: (m) => [m.name, m.champion?.algorithm ?? '', ...(endpoints.data?.filter((e) => e.model === m.name).map((e) => e.name) ?? [])].join(' '),
        sorts: modelSorts,
      })
    : [];

  return (
    <Card
      title="Models"
      description="Trained and imported model versions with their holdout metrics; endpoints serve each model's champion."
      id="section-models"
      actions={
        <span className="model-actions">
          {showAll && (
            <Link href={modelsHref(projectId)} className="btn btn-sm">
              All models
            </Link>
          )}
          <Link href={endpointsHref(projectId)} className="btn btn-sm">
            Endpoints{endpoints.data ? ` (${endpoints.data.length})` : ''}
          </Link>
          {canEdit && (
            <Link href={trainHref(projectId)} className="btn btn-sm btn-primary">
              Train or import
            </Link>
          )}
        </span>
      }
    >
      {models.isPending ? (
        <Loading />
      ) : models.isError ? (
        <ErrorMessage error={models.error} />
      ) : models.data.length === 0 ? (
        <EmptyState title="No models yet.">
          {canEdit ? 'Train one from a dataset (logistic regression or gradient-boosted trees), or import an ONNX file trained elsewhere.' : 'Editors train models from datasets or import ONNX files.'}
        </EmptyState>
      ) : rows.length === 0 ? (
        <EmptyState title="No model matches the search." />
      ) : (
        <div className="table-scroll">
          <table className="table models-table">
            <thead>
              <tr>
                <th>Model</th>
                <th>Champion</th>
                <th>AUC (95% CI)</th>
                <th className="align-right">Versions</th>
                <th>Endpoints</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((m) => {
                const serving = endpoints.data?.filter((e) => e.model === m.name) ?? [];
                return (
                  <tr key={m.id}>
                    <td>
                      <Link href={modelHref(projectId, m.name)} className="strong-link">
                        <code>{m.name}</code>
                      </Link>
                    </td>
                    <td>
                      {m.champion ? (
                        <>
                          v{m.champion.version} <span className="muted">· {algorithmLabel(m.champion.algorithm)}</span>
                        </>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td className="tabular nowrap">{formatAuc(m.champion?.auc)}</td>
                    <td className="align-right tabular">{m.versionCount}</td>
                    <td>
                      {serving.length === 0 ? (
                        <span className="muted">none</span>
                      ) : (
                        serving.map((e, i) => (
                          <span key={e.id}>
                            {i > 0 && ', '}
                            <Link href={endpointHref(projectId, e.name)}>
                              <code>{e.name}</code>
                            </Link>
                          </span>
                        ))
                      )}
                    </td>
                    <td className="muted nowrap">{formatDateTime(m.updatedAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
