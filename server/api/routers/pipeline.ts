import { compileNotebookNow } from '../../services/pipeline/compile-notebook';
import { CompileNotebookInput } from '../../services/pipeline/schemas';
import { procedure, router } from '../trpc';

export const pipelineRouter = router({
  /** The notebook as it is now, compiled: graph, hash and diagnostics (cell, line, column, message). */
  compile: procedure
    .meta({ policy: { kind: 'member', role: 'viewer', scope: 'read' } })
    .input(CompileNotebookInput)
    .query(({ ctx, input }) => compileNotebookNow({ ctx, input })),
});
