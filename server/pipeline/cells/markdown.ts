import type { CellKindModule } from './types';

/** Notes: no part of the graph (editing them does not change the pipeline's hash). */
export const markdownCell: CellKindModule<'markdown'> = {
  kind: 'markdown',
  built: false,
  analyse: () => null,
  step: () => null,
  made(source) {
    const heading = /^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$/m.exec(source)?.[1];
    return heading ? heading.slice(0, 80) : null;
  },
};
