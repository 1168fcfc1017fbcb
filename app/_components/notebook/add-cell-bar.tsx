'use client';

import { cellKindLabel, cellKinds, type CellKind } from './cell-kinds';

/** One button per cell kind. `after` names the cell it inserts after; without it, it appends. */
export function AddCellBar({ onAdd, after, variant }: { onAdd: (kind: CellKind) => void; after?: number; variant: 'end' | 'between' }) {
  return (
    <div className={`add-cell add-cell-${variant}`} role="group" aria-label={after === undefined ? 'Add a cell' : `Insert a cell after cell ${after}`}>
      {variant === 'end' && <span className="add-cell-label">Add cell</span>}
      {cellKinds.map((k) => (
        <button
          key={k}
          type="button"
          className="btn btn-sm add-cell-btn"
          aria-label={after === undefined ? `Add ${cellKindLabel(k)} cell` : `Insert ${cellKindLabel(k)} cell after cell ${after}`}
          onClick={() => onAdd(k)}
        >
          + {cellKindLabel(k)}
        </button>
      ))}
    </div>
  );
}
