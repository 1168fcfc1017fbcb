'use client';

/**
 * Autocomplete of the project's names: datasets and their columns in SQL; datasets, columns and
 * models in YAML cells. One provider per language for every editor (Monaco's registry is global);
 * the open notebook keeps `catalog` current.
 */
import { monaco } from './monaco';

export type Catalog = { datasets: { name: string; columns: { name: string; type: string }[] }[]; models: string[] };

let catalog: Catalog = { datasets: [], models: [] };
let registered = false;

export function setCompletionCatalog(next: Catalog): void {
  catalog = next;
  register();
}

const KEYWORDS = ['select', 'from', 'where', 'group by', 'order by', 'join', 'left join', 'on', 'as', 'and', 'or', 'not', 'null', 'is', 'in', 'limit', 'with', 'case', 'when', 'then', 'else', 'end', 'distinct', 'count', 'sum', 'avg', 'min', 'max', 'having', 'union all'];

/** Datasets the SQL reads (`from x`, `join x`): their columns are what the cursor most likely wants. */
function referenced(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/\b(?:from|join)\s+([a-z_][a-z0-9_]*)/gi)) out.add(m[1]!.toLowerCase());
  return out;
}

function range(model: monaco.editor.ITextModel, position: monaco.Position): monaco.IRange {
  const word = model.getWordUntilPosition(position);
  return { startLineNumber: position.lineNumber, endLineNumber: position.lineNumber, startColumn: word.startColumn, endColumn: word.endColumn };
}

const sqlProvider: monaco.languages.CompletionItemProvider = {
  triggerCharacters: ['.', ' '],
  provideCompletionItems(model, position) {
    const r = range(model, position);
    const before = model.getValueInRange({ startLineNumber: position.lineNumber, startColumn: 1, endLineNumber: position.lineNumber, endColumn: position.column });
    const dotted = /([a-z_][a-z0-9_]*)\.\w*$/i.exec(before);
    const K = monaco.languages.CompletionItemKind;
    if (dotted) {
      const d = catalog.datasets.find((x) => x.name === dotted[1]!.toLowerCase());
      return { suggestions: (d?.columns ?? []).map((c) => ({ label: c.name, kind: K.Field, detail: `${d!.name} · ${c.type}`, insertText: c.name, range: r, sortText: `0${c.name}` })) };
    }
    const reads = referenced(model.getValue());
    const afterFrom = /\b(from|join)\s+\w*$/i.test(before);
    const suggestions: monaco.languages.CompletionItem[] = catalog.datasets.map((d) => ({
      label: d.name,
      kind: K.Struct,
      detail: `dataset · ${d.columns.length} columns`,
      insertText: d.name,
      range: r,
      sortText: `${afterFrom ? 0 : 2}${d.name}`,
    }));
    if (!afterFrom) {
      const seen = new Set<string>();
      for (const d of catalog.datasets) {
        if (!reads.has(d.name)) continue;
        for (const c of d.columns) {
          if (seen.has(c.name)) continue;
          seen.add(c.name);
          suggestions.push({ label: c.name, kind: K.Field, detail: `${d.name} · ${c.type}`, insertText: c.name, range: r, sortText: `1${c.name}` });
        }
      }
      for (const k of KEYWORDS) suggestions.push({ label: k, kind: K.Keyword, insertText: k, range: r, sortText: `3${k}` });
    }
    return { suggestions };
  },
};

const DATASET_KEYS = /^\s*(?:-\s+)?(dataset|output|datasets)\s*:\s*(?:\[\s*)?[\w, ]*$/;
const COLUMN_KEYS = /^\s*(?:-\s+)?(target|column|columns|features|key|label)\s*:\s*(?:\[\s*)?[\w, ]*$/;
const MODEL_KEYS = /^\s*(?:-\s+)?model\s*:\s*[\w-]*$/;

const yamlProvider: monaco.languages.CompletionItemProvider = {
  triggerCharacters: [' ', ',', '['],
  provideCompletionItems(model, position) {
    const r = range(model, position);
    const before = model.getValueInRange({ startLineNumber: position.lineNumber, startColumn: 1, endLineNumber: position.lineNumber, endColumn: position.column });
    const K = monaco.languages.CompletionItemKind;
    if (MODEL_KEYS.test(before)) return { suggestions: catalog.models.map((m) => ({ label: m, kind: K.Class, detail: 'model', insertText: m, range: r })) };
    if (DATASET_KEYS.test(before)) return { suggestions: catalog.datasets.map((d) => ({ label: d.name, kind: K.Struct, detail: 'dataset', insertText: d.name, range: r })) };
    if (COLUMN_KEYS.test(before)) {
      // The columns of the dataset this cell names (the nearest `dataset:` above the cursor, else any).
      const lines = model.getLinesContent().slice(0, position.lineNumber).reverse();
      const named = lines.map((l) => /^\s*(?:-\s+)?dataset\s*:\s*([a-z_][a-z0-9_]*)/.exec(l)?.[1]).find(Boolean);
      const sets = named ? catalog.datasets.filter((d) => d.name === named) : catalog.datasets;
      const seen = new Set<string>();
      const suggestions: monaco.languages.CompletionItem[] = [];
      for (const d of sets) {
        for (const c of d.columns) {
          if (seen.has(c.name)) continue;
          seen.add(c.name);
          suggestions.push({ label: c.name, kind: K.Field, detail: `${d.name} · ${c.type}`, insertText: c.name, range: r });
        }
      }
      return { suggestions };
    }
    return { suggestions: [] };
  },
};

function register(): void {
  if (registered) return;
  registered = true;
  monaco.languages.registerCompletionItemProvider('pgsql', sqlProvider);
  monaco.languages.registerCompletionItemProvider('yaml', yamlProvider);
  // YAML: a new line after `key:` is indented under it; after `- key: value` it lines up with `key`,
  // so the next field of the same list item needs no typing.
  monaco.languages.setLanguageConfiguration('yaml', {
    comments: { lineComment: '#' },
    brackets: [
      ['{', '}'],
      ['[', ']'],
    ],
    autoClosingPairs: [
      { open: '{', close: '}' },
      { open: '[', close: ']' },
      { open: '"', close: '"' },
      { open: "'", close: "'" },
    ],
    onEnterRules: [
      { beforeText: /:\s*$/, action: { indentAction: monaco.languages.IndentAction.Indent } },
      { beforeText: /^\s*- [\w-]+:\s*\S.*$/, action: { indentAction: monaco.languages.IndentAction.None, appendText: '  ' } },
    ],
  });
}
