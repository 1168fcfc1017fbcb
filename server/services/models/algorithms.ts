import { ALGORITHM_LIST, type AlgorithmListing } from '@/server/ml/algorithms';

/**
 * The model kinds a train cell and the train form may ask for, from the registry (server/ml/algorithms):
 * the UI lists these instead of keeping its own copy, so a new kind shows up without touching app/.
 */
export function listAlgorithms(): readonly AlgorithmListing[] {
  return ALGORITHM_LIST;
}
