import { z } from 'zod';
import { Uuid } from '../teams/schemas';

export const NotebookName = z.string().trim().min(1, 'name is required').max(120, 'name must be at most 120 characters');

export const NotebookRef = z.object({ projectId: Uuid('projectId'), notebookId: Uuid('notebookId') });
export const ListNotebooksInput = z.object({ projectId: Uuid('projectId') });
export const CreateNotebookInput = z.object({ projectId: Uuid('projectId'), name: NotebookName });
export const RenameNotebookInput = NotebookRef.extend({ name: NotebookName });
export const DuplicateNotebookInput = NotebookRef.extend({ name: NotebookName.optional() });

export const VersionMessage = z.string().trim().min(1, 'message is required').max(500, 'message must be at most 500 characters');
export const SaveVersionInput = NotebookRef.extend({ message: VersionMessage });
export const VersionRef = NotebookRef.extend({ versionId: Uuid('versionId') });
export const ListVersionsInput = NotebookRef.extend({ limit: z.coerce.number().int().min(1).max(200).default(50) });
/** A version id, or 'live' for the notebook as it is now. */
export const VersionSide = z.union([z.literal('live'), Uuid('version')]);
export const DiffVersionsInput = NotebookRef.extend({ from: VersionSide, to: VersionSide.default('live') });
