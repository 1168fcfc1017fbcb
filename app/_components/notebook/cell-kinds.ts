import { cellKinds, type CellKind } from '@/server/domain/cell-kinds';
import { assertNever } from '@/server/domain/assert-never';

export { cellKinds, type CellKind, assertNever };

export function cellKindLabel(kind: CellKind): string {
  switch (kind) {
    case 'sql':
      return 'SQL';
    case 'ts':
      return 'TypeScript';
    case 'python':
      return 'Python';
    case 'train':
      return 'Train';
    case 'score':
      return 'Score';
    case 'check':
      return 'Check';
    case 'markdown':
      return 'Markdown';
    case 'scenario':
      return 'Scenario';
    case 'endpoint':
      return 'Endpoint';
    default:
      return assertNever(kind, 'cell kind');
  }
}

/** Monaco language id of a cell kind: declarative cells are YAML; SQL runs in Postgres. */
export function cellLanguage(kind: CellKind): string {
  switch (kind) {
    case 'sql':
      return 'pgsql';
    case 'ts':
      return 'typescript';
    case 'python':
      return 'python';
    case 'train':
    case 'score':
    case 'check':
    case 'scenario':
    case 'endpoint':
      return 'yaml';
    case 'markdown':
      return 'markdown';
    default:
      return assertNever(kind, 'cell kind');
  }
}
