'use client';

import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useTRPC } from '../trpc';
import type { ModelVersionDetail } from './types';

type Schema = ModelVersionDetail['featureSchema'];

/** A record every input accepts, when no training row is at hand (imported models). */
function placeholderRecord(schema: Schema): Record<string, unknown> {
  return Object.fromEntries(schema.inputs.map((f) => [f.name, f.tensor === 'string' ? (f.categories?.find((c) => c !== '') ?? '') : f.tensor === 'bool' ? false : 0]));
}

/**
 * Example records for a model version: the first rows of its training data (features only), or a
 * placeholder built from the feature schema. null while loading.
 */
export function useSampleRecords(projectId: string, detail: ModelVersionDetail | undefined, count = 2): Record<string, unknown>[] | null {
  const trpc = useTRPC();
  const dataset = detail?.trainingData?.dataset;
  const sample = useQuery({ ...trpc.datasets.preview.queryOptions({ projectId, name: dataset ?? 'none', limit: count }), enabled: Boolean(dataset) });
  return useMemo(() => {
    if (!detail) return null;
    if (dataset && sample.isPending) return null;
    const names = detail.featureSchema.inputs.map((f) => f.name);
    if (!sample.data) return [placeholderRecord(detail.featureSchema)];
    const index = new Map(sample.data.columns.map((c, j) => [c.name, j]));
    return sample.data.rows.map((r) => Object.fromEntries(names.map((n) => [n, r[index.get(n) ?? -1] ?? null])));
  }, [detail, dataset, sample.isPending, sample.data]);
}
