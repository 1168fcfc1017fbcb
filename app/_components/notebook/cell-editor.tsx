'use client';

import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { MonacoBinding } from 'y-monaco';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { useTRPC } from '../trpc';
import type { CellKind } from './cell-kinds';
import { currentColorScheme, useColorScheme } from '../use-color-scheme';
import { monaco, monacoThemeOf } from './monaco';
import { applyCellSchemas, cellModelUri } from './monaco-yaml';

const MIN_HEIGHT = 38;
const MARKER_OWNER = 'stagebook-pipeline';

/** A compile diagnostic, 1-based within the cell (the compiler's convention, and Monaco's). */
export type EditorDiagnostic = { line: number; column?: number; severity: 'error' | 'warning'; message: string; code?: string };

/**
 * The diagnostic as a Monaco marker: from its column to the end of the word there, or the whole
 * line (from its first non-blank character) when the compiler gave no column. Lines past the end
 * (the text changed since the compile) are clamped to the last line.
 */
function markerOf(model: monaco.editor.ITextModel, d: EditorDiagnostic): monaco.editor.IMarkerData {
  const line = Math.min(Math.max(1, d.line), model.getLineCount());
  const maxColumn = model.getLineMaxColumn(line);
  let startColumn = d.column !== undefined ? Math.min(Math.max(1, d.column), maxColumn) : Math.max(1, model.getLineFirstNonWhitespaceColumn(line));
  let endColumn = maxColumn;
  if (d.column !== undefined) {
    const word = model.getWordAtPosition({ lineNumber: line, column: startColumn });
    if (word) {
      startColumn = word.startColumn;
      endColumn = word.endColumn;
    }
  }
  if (endColumn <= startColumn) endColumn = Math.min(maxColumn, startColumn + 1);
  if (endColumn <= startColumn) startColumn = Math.max(1, endColumn - 1);
  return {
    startLineNumber: line,
    endLineNumber: line,
    startColumn,
    endColumn,
    severity: d.severity === 'error' ? monaco.MarkerSeverity.Error : monaco.MarkerSeverity.Warning,
    message: d.message,
    source: 'Stagebook',
    ...(d.code ? { code: d.code } : {}),
  };
}

/**
 * y-monaco publishes the local selection on every cursor change of its editor, including the ones
 * it makes itself when a remote edit shifts an unfocused editor's cursor: with one editor per cell,
 * our caret would then jump into whatever cell someone else types in. This view of the awareness
 * publishes only while this editor has focus; everything else goes straight through.
 */
function focusedAwareness(awareness: Awareness, editor: monaco.editor.ICodeEditor): Awareness {
  return {
    getStates: () => awareness.getStates(),
    on: (name: 'change', f: () => void) => awareness.on(name, f),
    off: (name: 'change', f: () => void) => awareness.off(name, f),
    setLocalStateField: (field: string, value: unknown) => {
      if (editor.hasTextFocus()) awareness.setLocalStateField(field, value);
    },
  } as unknown as Awareness;
}

/** The caret and selection of `editor` as Yjs relative positions (y-monaco's awareness format). */
function publishSelection(awareness: Awareness, editor: monaco.editor.ICodeEditor, text: Y.Text): void {
  const model = editor.getModel();
  const sel = editor.getSelection();
  if (!model || !sel) return;
  let anchor = model.getOffsetAt(sel.getStartPosition());
  let head = model.getOffsetAt(sel.getEndPosition());
  if (sel.getDirection() === monaco.SelectionDirection.RTL) [anchor, head] = [head, anchor];
  awareness.setLocalStateField('selection', {
    anchor: Y.createRelativePositionFromTypeIndex(text, anchor),
    head: Y.createRelativePositionFromTypeIndex(text, head),
  });
}

/** Live editors by cell id: command mode (Enter) and Shift+Enter hand focus to a cell's editor through it. */
export const cellEditors = new Map<string, monaco.editor.IStandaloneCodeEditor>();

/** What the keyboard asks of a cell from inside its editor (Jupyter's keys). */
export type EditorCommand = 'run' | 'run-next' | 'run-insert' | 'command-mode';

/** A Monaco editor bound to one cell's Y.Text, as tall as its content. */
export function CellEditor({ cellId, kind, text, language, readOnly, awareness, autoFocus, selectAll, onBlur, label, diagnostics, onCommand }: {
  cellId: string;
  kind: CellKind;
  text: Y.Text;
  language: string;
  readOnly: boolean;
  awareness: Awareness;
  autoFocus?: boolean;
  /** A new cell's template: selected, so typing or pasting replaces it and Esc/arrows keep it. */
  selectAll?: boolean;
  /** Called when the editor loses focus (markdown cells go back to their rendered view). */
  onBlur?: () => void;
  label: string;
  /** The pipeline compiler's diagnostics for this cell, shown as markers (squiggles and hovers). */
  diagnostics?: EditorDiagnostic[];
  onCommand?: (command: EditorCommand) => void;
}) {
  const trpc = useTRPC();
  const scheme = useColorScheme();
  useEffect(() => monaco.editor.setTheme(monacoThemeOf(scheme)), [scheme]);
  // The JSON Schemas of declarative cells: the same for every cell and every visit.
  const schemas = useQuery(trpc.pipeline.cellSchemas.queryOptions(undefined, { staleTime: Infinity, gcTime: Infinity, retry: 1 }));
  useEffect(() => {
    if (schemas.data) applyCellSchemas(schemas.data);
  }, [schemas.data]);
  const host = useRef<HTMLDivElement>(null);
  const editorRef = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  const onBlurRef = useRef(onBlur);
  const onCommandRef = useRef(onCommand);
  useEffect(() => {
    onBlurRef.current = onBlur;
    onCommandRef.current = onCommand;
  }, [onBlur, onCommand]);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    // A YAML cell's URI names its kind (`<cellId>.check.yaml`): monaco-yaml picks the schema by it.
    // Should a model of that URI still exist (another editor of the cell), this one goes without.
    const uri = cellModelUri(cellId, kind, language);
    const model = monaco.editor.createModel('', language, monaco.editor.getModel(uri) ? undefined : uri);
    const editor = monaco.editor.create(el, {
      model,
      theme: monacoThemeOf(currentColorScheme()),
      readOnly,
      domReadOnly: readOnly,
      ariaLabel: label,
      automaticLayout: true,
      fontSize: 13,
      lineHeight: 20,
      fontFamily: "ui-monospace, SFMono-Regular, 'SF Mono', Menlo, Consolas, 'Liberation Mono', monospace",
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      wordWrap: 'on',
      wrappingIndent: 'same',
      lineNumbers: 'on',
      lineNumbersMinChars: 3,
      lineDecorationsWidth: 10,
      glyphMargin: false,
      folding: false,
      renderLineHighlight: 'none',
      overviewRulerLanes: 0,
      overviewRulerBorder: false,
      hideCursorInOverviewRuler: true,
      // Room above the first line for the name flag on other people's carets.
      padding: { top: 14, bottom: 8 },
      scrollbar: { vertical: 'hidden', horizontal: 'auto', alwaysConsumeMouseWheel: false, useShadows: false },
      // Suggestions and hovers would be clipped by an editor only as tall as its text.
      fixedOverflowWidgets: true,
      tabSize: 2,
      contextmenu: false,
      stickyScroll: { enabled: false },
      unicodeHighlight: { ambiguousCharacters: false },
      // YAML suggestions pop up while typing; Enter there means a new line. Ctrl+Space opens the list
      // on purpose, and then Enter takes the suggestion (the action below).
      ...(language === 'yaml' ? { acceptSuggestionOnEnter: 'off' as const } : {}),
    });
    editorRef.current = editor;
    cellEditors.set(cellId, editor);
    const explicitSuggest = editor.createContextKey<boolean>('stagebookExplicitSuggest', false);
    const command = (c: EditorCommand) => () => onCommandRef.current?.(c);
    const actions = [
      editor.addAction({ id: 'stagebook.run', label: 'Run cell', keybindings: [monaco.KeyMod.CtrlCmd | monaco.KeyCode.Enter], run: command('run') }),
      editor.addAction({ id: 'stagebook.runNext', label: 'Run cell and go to the next', keybindings: [monaco.KeyMod.Shift | monaco.KeyCode.Enter], run: command('run-next') }),
      editor.addAction({ id: 'stagebook.runInsert', label: 'Run cell and insert one below', keybindings: [monaco.KeyMod.Alt | monaco.KeyCode.Enter], run: command('run-insert') }),
      // Escape first closes whatever widget is open (Monaco's own bindings); then it leaves the editor.
      editor.addAction({
        id: 'stagebook.commandMode',
        label: 'Command mode',
        keybindings: [monaco.KeyCode.Escape],
        precondition: '!suggestWidgetVisible && !findWidgetVisible && !parameterHintsVisible && !markersNavigationVisible',
        run: () => {
          if (onBlurRef.current) onBlurRef.current();
          onCommandRef.current?.('command-mode');
        },
      }),
      editor.addAction({
        id: 'stagebook.suggestOnPurpose',
        label: 'Suggest',
        keybindings: [monaco.KeyMod.WinCtrl | monaco.KeyCode.Space, monaco.KeyMod.CtrlCmd | monaco.KeyCode.Space],
        run: (ed) => {
          explicitSuggest.set(true);
          ed.trigger('keyboard', 'editor.action.triggerSuggest', {});
        },
      }),
      editor.addAction({
        id: 'stagebook.acceptOnPurpose',
        label: 'Accept suggestion',
        keybindings: [monaco.KeyCode.Enter],
        precondition: 'suggestWidgetVisible && stagebookExplicitSuggest',
        run: (ed) => {
          explicitSuggest.set(false);
          ed.trigger('keyboard', 'acceptSelectedSuggestion', {});
        },
      }),
    ];
    const binding = new MonacoBinding(text, model, new Set([editor]), focusedAwareness(awareness, editor));

    const fit = () => {
      const height = Math.max(MIN_HEIGHT, editor.getContentHeight());
      if (el.style.height !== `${height}px`) el.style.height = `${height}px`;
      editor.layout({ width: el.clientWidth, height });
    };
    const subscriptions = [
      editor.onDidContentSizeChange(fit),
      editor.onDidFocusEditorText(() => {
        awareness.setLocalStateField('cellId', cellId);
        publishSelection(awareness, editor, text);
      }),
      editor.onDidBlurEditorText(() => onBlurRef.current?.()),
      editor.onDidBlurEditorText(() => explicitSuggest.set(false)),
      editor.onDidChangeCursorPosition((e) => {
        if (e.reason !== monaco.editor.CursorChangeReason.NotSet) explicitSuggest.set(false);
      }),
      ...actions,
    ];
    fit();
    if (autoFocus) {
      editor.focus();
      if (selectAll && model.getValueLength() > 0) editor.setSelection(model.getFullModelRange());
    }
    return () => {
      if (cellEditors.get(cellId) === editor) cellEditors.delete(cellId);
      for (const s of subscriptions) s.dispose();
      // The binding first (it unhooks from the model), so disposing the model does not destroy it twice.
      binding.destroy();
      editor.dispose();
      model.dispose();
      editorRef.current = null;
    };
    // Language and read-only are applied to the live editor by the effects below; only a new Y.Text
    // (a moved cell re-creates it) or kind (its model URI picks the YAML schema) needs a new editor.
  }, [text, awareness, cellId, kind]);

  useEffect(() => {
    const model = editorRef.current?.getModel();
    if (model) monaco.editor.setModelLanguage(model, language);
  }, [language]);

  useEffect(() => {
    editorRef.current?.updateOptions({ readOnly, domReadOnly: readOnly });
  }, [readOnly]);

  // `text` too: a moved cell gets a new editor and model, which start without markers.
  useEffect(() => {
    const model = editorRef.current?.getModel();
    if (!model) return;
    monaco.editor.setModelMarkers(model, MARKER_OWNER, (diagnostics ?? []).map((d) => markerOf(model, d)));
  }, [diagnostics, text]);

  return <div ref={host} className="cell-editor" data-language={language} />;
}
