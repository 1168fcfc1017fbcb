import { cellSchemas } from '../../services/pipeline/cell-schemas';
import { compileNotebookNow } from '../../services/pipeline/compile-notebook';
import { CompileNotebookInput } from '../../services/pipeline/schemas';
import { policies, procedure, router } from '../trpc';

export const pipelineRouter = router({
  /** The notebook as it is now, compiled: graph, hash and diagnostics (cell, line, column, message). */
  compile: procedure
    .meta({ policy: { kind: 'member', role: 'viewer', scope: 'read' } })
    .input(CompileNotebookInput)
    .query(({ ctx, input }) => compileNotebookNow({ ctx, input })),
  /** JSON Schemas of the declarative (YAML) cell kinds, for the editor; the same for everyone. */
  cellSchemas: procedure.meta({ policy: policies.public }).query(() => cellSchemas()),
});
