'use client';

import { useQuery } from '@tanstack/react-query';
import { useCallback } from 'react';
import { useTRPC } from '../trpc';
import type { RouterOutputs } from '../types';

/** A model kind as the server's registry (server/ml/algorithms) lists it: label, form fields, defaults. */
export type AlgorithmListing = RouterOutputs['models']['algorithms'][number];

/**
 * The model kinds, from the server: the app keeps no list of its own, so a new kind reaches the
 * train form and every label without touching app/. Static for a server's life.
 */
export function useAlgorithms() {
  const trpc = useTRPC();
  return useQuery({ ...trpc.models.algorithms.queryOptions(), staleTime: Infinity, gcTime: Infinity });
}

/** How the UI names a version's algorithm (`onnx`: an imported file). */
export function useAlgorithmLabel(): (algorithm: string) => string {
  const { data } = useAlgorithms();
  return useCallback((algorithm: string) => (algorithm === 'onnx' ? 'Imported ONNX' : (data?.find((a) => a.name === algorithm)?.label ?? algorithm)), [data]);
}
