'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '../trpc';
import type { RouterOutputs } from '../types';
import { ErrorMessage } from '../ui';
import { columnTypes, type ColumnType } from './csv-sniff';

export type Dataset = RouterOutputs['datasets']['get'];

/**
 * A dataset's columns. For a source dataset an editor can change a column's type: the server
 * converts the stored values in place and refuses (saying which value) when one does not fit.
 * Built datasets take their types from the cell's SELECT, so they are shown read-only.
 */
export function SchemaTable({ projectId, dataset, canEdit, compact }: { projectId: string; dataset: Dataset; canEdit: boolean; compact?: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const setType = useMutation(
    trpc.datasets.setColumnType.mutationOptions({
      onSuccess: (updated) => {
        queryClient.setQueryData(trpc.datasets.get.queryKey({ projectId, name: dataset.name, environment: dataset.environment }), updated);
        return Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.datasets.list.queryKey({ projectId }) }),
          queryClient.invalidateQueries({ queryKey: trpc.datasets.preview.queryKey() }),
        ]);
      },
    }),
  );
  const editable = canEdit && dataset.kind === 'source';
  const pendingColumn = setType.isPending ? setType.variables.column : null;

  return (
    <>
      <ErrorMessage error={setType.error} />
      <div className="table-scroll">
        <table className={compact ? 'table table-compact schema-table' : 'table schema-table'}>
          <thead>
            <tr>
              <th>Column</th>
              <th>Type</th>
              <th title="Whether rows may leave it empty: a column uploaded without missing values requires one in appended rows">Nullable</th>
            </tr>
          </thead>
          <tbody>
            {dataset.columns.map((c) => (
              <tr key={c.name}>
                <td>
                  <code>{c.name}</code>
                </td>
                <td>
                  {editable ? (
                    <select
                      className="select-sm"
                      aria-label={`Type of ${c.name}`}
                      value={c.type}
                      disabled={setType.isPending}
                      onChange={(e) => setType.mutate({ projectId, name: dataset.name, column: c.name, type: e.target.value as ColumnType })}
                    >
                      {columnTypes.map((t) => (
                        <option key={t} value={t}>
                          {t}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <span className={`type-tag type-${c.type}`}>{c.type}</span>
                  )}
                  {pendingColumn === c.name && <span className="muted small"> converting…</span>}
                </td>
                <td className="muted">{c.nullable ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
