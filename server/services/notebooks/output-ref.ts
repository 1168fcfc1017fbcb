import { setCellOutputRef, type CellOutputRef } from '../../domain/notebook-doc';
import { editOf } from './doc-edit';

/**
 * The edit that points a cell at its newest output (`output` of the cell map), made by the server
 * against the notebook as it is now: stored with the output and handed to the live document, it
 * reaches every collaborator in the moment the author's response leaves, instead of one round trip
 * later from the author's browser. Null when the cell is gone (deleted meanwhile) or already points
 * there.
 */
export function outputRefEdit(state: Uint8Array, cellId: string, ref: CellOutputRef): Uint8Array | null {
  return editOf(state, (doc) => setCellOutputRef(doc, cellId, ref));
}
