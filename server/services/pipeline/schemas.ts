import { NotebookRef } from '../notebooks/schemas';

export const CompileNotebookInput = NotebookRef;
