import type { datasets } from '@/db/schema';

export type DatasetView = {
  id: string;
  projectId: string;
  environment: 'design' | 'production';
  name: string;
  kind: 'source' | 'built';
  columns: { name: string; type: 'integer' | 'numeric' | 'boolean' | 'timestamp' | 'text'; nullable: boolean }[];
  rowCount: number;
  fingerprint: string;
  createdAt: string;
  updatedAt: string;
};

export function datasetView(row: typeof datasets.$inferSelect): DatasetView {
  return {
    id: row.id,
    projectId: row.projectId,
    environment: row.environment,
    name: row.name,
    kind: row.kind,
    columns: row.columns,
    rowCount: Number(row.rowCount),
    fingerprint: row.fingerprint,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}
