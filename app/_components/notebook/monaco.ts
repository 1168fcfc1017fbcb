'use client';

/**
 * Monaco from the local `monaco-editor` package (never a CDN), with its web workers bundled by Next:
 * each `new Worker(new URL(..., import.meta.url))` below is a bundler entry. Import this module only
 * from code loaded with `dynamic(..., { ssr: false })`: Monaco touches `window` when it loads.
 */
import * as monaco from 'monaco-editor';

// Paths go through monaco-editor's exports map (`./*.js` -> `./esm/vs/*.js`). Turbopack bundles each
// worker as a classic script and drops `type`; webpack honours it.
function createWorker(label: string): Worker {
  switch (label) {
    case 'typescript':
    case 'javascript':
      return new Worker(new URL('monaco-editor/languages/features/typescript/ts.worker.js', import.meta.url), { type: 'module', name: label });
    case 'yaml':
      // monaco-yaml's language server (schema validation, completion, hover of declarative cells).
      // Its worker imports `monaco-editor/esm/vs/editor/editor.worker.js`: see next.config.js.
      return new Worker(new URL('monaco-yaml/yaml.worker.js', import.meta.url), { type: 'module', name: label });
    default:
      // Tokenising (SQL, YAML, Markdown) runs on the main thread; this worker computes diffs and links.
      return new Worker(new URL('monaco-editor/editor/editor.worker.js', import.meta.url), { type: 'module', name: label });
  }
}

function worker(label: string): Worker {
  const w = createWorker(label);
  // A worker that fails to load leaves Monaco silently without diagnostics: make it loud.
  w.addEventListener('error', (e) => console.error(`Monaco ${label} worker failed: ${e.message || 'could not load'}`));
  return w;
}

self.MonacoEnvironment = { getWorker: (_workerId: string, label: string) => worker(label) };

// Every TypeScript cell is its own model; as scripts they would share one global scope and report
// each other's declarations as duplicates. `moduleDetection: force` makes each cell a module.
monaco.typescript.typescriptDefaults.setCompilerOptions({
  target: monaco.typescript.ScriptTarget.ES2020,
  module: monaco.typescript.ModuleKind.ESNext,
  moduleResolution: monaco.typescript.ModuleResolutionKind.NodeJs,
  moduleDetection: 3,
  strict: true,
  allowNonTsExtensions: true,
  noEmit: true,
});

// Quiet line numbers: the active line's number is emphasised only by weight of colour, not blue.
monaco.editor.defineTheme('stagebook', {
  base: 'vs',
  inherit: true,
  rules: [],
  colors: {
    'editorLineNumber.foreground': '#a1a1aa',
    'editorLineNumber.activeForeground': '#52525b',
    'editorIndentGuide.background1': '#f4f4f5',
  },
});

// Dark: the app's dark tokens (globals.css), so a cell's editor sits in its card like the rest.
monaco.editor.defineTheme('stagebook-dark', {
  base: 'vs-dark',
  inherit: true,
  rules: [],
  colors: {
    'editor.background': '#18181b',
    'editorGutter.background': '#18181b',
    'editorLineNumber.foreground': '#52525b',
    'editorLineNumber.activeForeground': '#a1a1aa',
    'editorIndentGuide.background1': '#27272a',
  },
});

/** Monaco's theme is global: one call switches every editor on the page. */
export const monacoThemeOf = (scheme: 'light' | 'dark') => (scheme === 'dark' ? 'stagebook-dark' : 'stagebook');

export { monaco };
