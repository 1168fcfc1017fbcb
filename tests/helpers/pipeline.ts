import type { Db } from '@/db/client';
import type { CellKind } from '@/server/domain/notebook-doc';
import { storeNotebookCells } from '@/server/services/notebooks/store-cells';

export type TestCell = { id: string; kind: CellKind; source: string; title?: string };

/** Makes a stored notebook hold exactly `cells`, as one edit (what a collab client would store). */
export const setNotebookCells = (db: Db, notebookId: string, cells: TestCell[]): Promise<void> => storeNotebookCells(db, notebookId, cells);

export const sql = (id: string, writes: string, body: string): TestCell => ({ id, kind: 'sql', source: `-- writes: ${writes}\n${body}` });
export const ts = (id: string, inputs: string[], output: string, body: string): TestCell => ({
  id,
  kind: 'ts',
  source: `// inputs: ${inputs.join(', ')}\n// output: ${output}\n${body}`,
});
export const python = (id: string, inputs: string[], output: string, body: string): TestCell => ({
  id,
  kind: 'python',
  source: `# inputs: ${inputs.join(', ')}\n# output: ${output}\n${body}`,
});
export const check = (id: string, yaml: string): TestCell => ({ id, kind: 'check', source: yaml });
