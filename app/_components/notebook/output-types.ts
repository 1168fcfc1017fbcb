/** A cell's stored output: the notebook contract's type, owned by the server (types only). */
export type { CellOutput } from '@/server/services/notebooks/output-types';
