'use client';

/**
 * YAML validation, completion and hover for declarative cells, from the JSON Schemas the server
 * derives from its zod schemas (`pipeline.cellSchemas`). A cell's model URI ends in `.<kind>.yaml`
 * (see `cellModelUri`), which is what each schema's `fileMatch` picks.
 */
import { configureMonacoYaml, type JSONSchema, type MonacoYaml, type MonacoYamlOptions } from 'monaco-yaml';
import { monaco } from './monaco';

/** The URI of a cell's Monaco model: YAML cells end in `.<kind>.yaml` so their kind's schema applies. */
export function cellModelUri(cellId: string, kind: string, language: string): monaco.Uri {
  return monaco.Uri.parse(language === 'yaml' ? `inmemory://cell/${cellId}.${kind}.yaml` : `inmemory://cell/${cellId}`);
}

/**
 * monaco-yaml 5.5 (through monaco-worker-manager) calls `monaco.editor.createWebWorker({ moduleId,
 * label, createData })`, the API of Monaco < 0.55; Monaco 0.55+ wants the Worker itself. This view of
 * Monaco bridges the two the way Monaco's own language workers do (internal/common/workers.js): the
 * worker comes from `MonacoEnvironment.getWorker`, and gets a first message that starts its server
 * and a second one carrying `createData`.
 */
const monacoForYaml = {
  ...monaco,
  editor: {
    ...monaco.editor,
    createWebWorker: (opts: { moduleId?: string; label?: string; createData?: unknown; host?: Record<string, () => unknown>; keepIdleModels?: boolean }) => {
      const worker = Promise.resolve(self.MonacoEnvironment!.getWorker!(opts.moduleId ?? 'workerMain.js', opts.label ?? 'yaml')).then((w) => {
        w.postMessage('ignore');
        w.postMessage(opts.createData);
        return w;
      });
      return monaco.editor.createWebWorker({ worker, host: opts.host, keepIdleModels: opts.keepIdleModels });
    },
  },
} as unknown as typeof monaco;

let yaml: MonacoYaml | undefined;
let applied = '';

/** Gives monaco-yaml the schemas of each cell kind (once; again only if they changed). */
export function applyCellSchemas(schemas: Record<string, unknown>): void {
  const key = JSON.stringify(schemas);
  if (key === applied) return;
  applied = key;
  const options: MonacoYamlOptions = {
    enableSchemaRequest: false,
    hover: true,
    completion: true,
    validate: true,
    schemas: Object.entries(schemas).map(([kind, schema]) => ({
      uri: `inmemory://stagebook/schemas/${kind}-cell.json`,
      fileMatch: [`*.${kind}.yaml`],
      schema: schema as JSONSchema,
    })),
  };
  if (yaml) void yaml.update(options);
  else yaml = configureMonacoYaml(monacoForYaml, options);
}
