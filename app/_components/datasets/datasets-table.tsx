import Link from 'next/link';
import { formatDateTime } from '../format';
import type { RouterOutputs } from '../types';
import { formatCount } from './format';

type DatasetRow = RouterOutputs['datasets']['list'][number];

/** Datasets of one environment: name (linked by `hrefOf`), kind, rows, columns, last update. */
export function DatasetsTable({ datasets, hrefOf, label }: { datasets: DatasetRow[]; hrefOf: (name: string) => string; label?: string }) {
  return (
    <div className="table-scroll">
      <table className="table datasets-table" aria-label={label}>
        <thead>
          <tr>
            <th>Dataset</th>
            <th>Kind</th>
            <th className="align-right">Rows</th>
            <th className="align-right">Columns</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {datasets.map((d) => (
            <tr key={d.id} data-dataset={d.name}>
              <td>
                <Link href={hrefOf(d.name)} className="strong-link">
                  <code>{d.name}</code>
                </Link>
              </td>
              <td>
                <span className={`badge badge-kind-${d.kind}`}>{d.kind}</span>
              </td>
              <td className="align-right tabular">{formatCount(d.rowCount)}</td>
              <td className="align-right tabular">{d.columns.length}</td>
              <td className="muted nowrap">{formatDateTime(d.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
