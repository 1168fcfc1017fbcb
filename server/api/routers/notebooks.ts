import { chartData } from '../../services/notebooks/chart-data';
import { getCellOutput, listCellOutputs } from '../../services/notebooks/cell-outputs';
import { CellRef, ChartDataInput, NotebookOutputsInput, RunCellInput } from '../../services/notebooks/output-schemas';
import { runCell } from '../../services/notebooks/run-cell';
import { issueCollabToken } from '../../services/notebooks/collab-token';
import { createNotebook } from '../../services/notebooks/create-notebook';
import { deleteNotebook } from '../../services/notebooks/delete-notebook';
import { diffVersions } from '../../services/notebooks/diff-versions';
import { duplicateNotebook } from '../../services/notebooks/duplicate-notebook';
import { getNotebook } from '../../services/notebooks/get-notebook';
import { listNotebooks } from '../../services/notebooks/list-notebooks';
import { listVersions } from '../../services/notebooks/list-versions';
import { renameNotebook } from '../../services/notebooks/rename-notebook';
import { restoreVersion } from '../../services/notebooks/restore-version';
import { saveVersion } from '../../services/notebooks/save-version';
import {
  CreateNotebookInput,
  DiffVersionsInput,
  DuplicateNotebookInput,
  ListNotebooksInput,
  ListVersionsInput,
  NotebookRef,
  RenameNotebookInput,
  SaveVersionInput,
  VersionRef,
} from '../../services/notebooks/schemas';
import { policies, procedure, router } from '../trpc';

export const notebooksRouter = router({
  list: procedure.meta({ policy: policies.viewer }).input(ListNotebooksInput).query(({ ctx, input }) => listNotebooks({ ctx, input })),
  /** The notebook, its cells now, and the caller's role (the page opens the editor read-only for viewers). */
  get: procedure
    .meta({ policy: policies.viewer })
    .input(NotebookRef)
    .query(async ({ ctx, input }) => ({ ...(await getNotebook({ ctx, input })), role: ctx.authz.role })),
  create: procedure.meta({ policy: policies.editor }).input(CreateNotebookInput).mutation(({ ctx, input }) => createNotebook({ ctx, input })),
  rename: procedure.meta({ policy: policies.editor }).input(RenameNotebookInput).mutation(({ ctx, input }) => renameNotebook({ ctx, input })),
  duplicate: procedure
    .meta({ policy: policies.editor })
    .input(DuplicateNotebookInput)
    .mutation(({ ctx, input }) => duplicateNotebook({ ctx, input })),
  delete: procedure.meta({ policy: policies.editor }).input(NotebookRef).mutation(({ ctx, input }) => deleteNotebook({ ctx, input })),
  saveVersion: procedure.meta({ policy: policies.editor }).input(SaveVersionInput).mutation(({ ctx, input }) => saveVersion({ ctx, input })),
  listVersions: procedure.meta({ policy: policies.viewer }).input(ListVersionsInput).query(({ ctx, input }) => listVersions({ ctx, input })),
  diffVersions: procedure.meta({ policy: policies.viewer }).input(DiffVersionsInput).query(({ ctx, input }) => diffVersions({ ctx, input })),
  restoreVersion: procedure
    .meta({ policy: policies.editor })
    .input(VersionRef)
    .mutation(({ ctx, input }) => restoreVersion({ ctx, input })),
  /** For clients that cannot send the session cookie to /collab: `?token=` on the WebSocket URL. */
  collabToken: procedure.meta({ policy: policies.viewer }).input(NotebookRef).mutation(({ ctx, input }) => issueCollabToken({ ctx, input })),
  /** Previews a sql or ts cell's current source against design data and stores the output for everyone (not audited). */
  runCell: procedure.meta({ policy: policies.editor }).input(RunCellInput).mutation(({ ctx, input }) => runCell({ ctx, input })),
  /** The latest stored output of a cell, or null; `stale` when its source or inputs changed since. */
  cellOutput: procedure.meta({ policy: policies.viewer }).input(CellRef).query(({ ctx, input }) => getCellOutput({ ctx, input })),
  outputs: procedure.meta({ policy: policies.viewer }).input(NotebookOutputsInput).query(({ ctx, input }) => listCellOutputs({ ctx, input })),
  /** A chart's data aggregated in SQL over the cell's whole result; runs the cell's query, writes nothing. */
  chartData: procedure.meta({ policy: policies.viewer }).input(ChartDataInput).query(({ ctx, input }) => chartData({ ctx, input })),
});
