/**
 * What a new cell starts with: a template that compiles, filled from the project's real datasets
 * and columns, so the first Run works and the syntax is there to copy. Pure: the caller fetches.
 */
import { assertNever, type CellKind } from './cell-kinds';

export type TemplateDataset = { name: string; columns: { name: string; type: string }[] };
export type TemplateContext = {
  /** The project's datasets (design), with their columns. */
  datasets: TemplateDataset[];
  /** The dataset written by the nearest cell above the new one (else the newest dataset). */
  lastDataset: string | null;
  /** Dataset names taken already (datasets and what cells write): a suggested name avoids them. */
  taken: Set<string>;
  /** Models the notebook trains or the project has, for score and endpoint cells. */
  models: string[];
  /** Values of the train template's target column, most frequent first (from a preview). */
  targetValues?: { target: string; values: string[] };
};

/** `base_2`, `base_3`... the first name nobody uses; names stay lowercase identifiers of <= 63 chars. */
export function freshName(base: string, taken: Set<string>): string {
  const stem = base.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/^[^a-z]+/, '').slice(0, 56) || 'result';
  if (!taken.has(stem)) return stem;
  for (let i = 2; ; i++) if (!taken.has(`${stem}_${i}`)) return `${stem}_${i}`;
}

const TARGET_NAMES = /^(target|label|status|outcome|churn(ed)?|default(ed)?|class|y|is_.+|has_.+)$/;

/** The column a model most likely predicts: a label-like name, else the last text or boolean column. */
export function pickTarget(columns: TemplateDataset['columns']): string | null {
  const named = columns.find((c) => TARGET_NAMES.test(c.name) && c.type !== 'timestamp');
  if (named) return named.name;
  const categorical = columns.filter((c) => c.type === 'text' || c.type === 'boolean');
  return categorical[categorical.length - 1]?.name ?? null;
}

/** The minority class is what one usually scores for (defaults, churners, fraud). */
export function pickPositiveClass(values: string[]): string | null {
  return values.length > 0 ? values[values.length - 1]! : null;
}

const datasetOf = (ctx: TemplateContext): TemplateDataset | undefined => ctx.datasets.find((d) => d.name === ctx.lastDataset) ?? ctx.datasets[ctx.datasets.length - 1];

export function cellTemplate(kind: CellKind, ctx: TemplateContext): string {
  const d = datasetOf(ctx);
  switch (kind) {
    case 'sql': {
      if (!d) return '-- writes: my_dataset\nselect 1 as id\n';
      const cols = d.columns.slice(0, 8).map((c) => c.name);
      const list = cols.length > 0 && cols.length < d.columns.length ? cols.join(', ') : '*';
      return `-- writes: ${freshName(`${d.name}_2`, ctx.taken)}\nselect ${list}\nfrom ${d.name}\n`;
    }
    case 'ts': {
      const input = d?.name;
      const out = freshName(input ? `${input}_ts` : 'ts_output', ctx.taken);
      return input
        ? `// inputs: ${input}\n// output: ${out}\nexport default function (rows: any[], emit: (row: object) => void) {\n  for (const r of rows) emit({ ...r });\n}\n`
        : `// inputs:\n// output: ${out}\nexport default function (rows: any[], emit: (row: object) => void) {}\n\nexport function finish(emit: (row: object) => void) {\n  emit({ id: 1 });\n}\n`;
    }
    case 'python': {
      const input = d?.name;
      const out = freshName(input ? `${input}_py` : 'py_output', ctx.taken);
      return input
        ? `# inputs: ${input}\n# output: ${out}\n# Inputs are pandas DataFrames named like their datasets; the last line (or ${out}) is the output.\n${input}.head(1000)\n`
        : `# inputs:\n# output: ${out}\npd.DataFrame({"id": [1, 2, 3]})\n`;
    }
    case 'train': {
      if (!d) return 'model: my-model\ndataset: my_dataset\ntarget: label\npositiveClass: "1"\nalgorithm: logistic_regression\n';
      const target = ctx.targetValues?.target ?? pickTarget(d.columns) ?? d.columns[0]?.name ?? 'label';
      const positive = ctx.targetValues ? pickPositiveClass(ctx.targetValues.values) : null;
      const model = freshName(`${d.name}_model`, new Set(ctx.models)).replace(/_/g, '-');
      return `model: ${model}\ndataset: ${d.name}\ntarget: ${target}\npositiveClass: ${JSON.stringify(positive ?? '1')}\nalgorithm: logistic_regression\n`;
    }
    case 'score': {
      const model = ctx.models[0] ?? 'my-model';
      const input = d?.name ?? 'my_dataset';
      return `model: ${model}\ndataset: ${input}\noutput: ${freshName(`${input}_scored`, ctx.taken)}\n`;
    }
    case 'check':
      return `dataset: ${d?.name ?? 'my_dataset'}\nchecks:\n  - type: row_count\n    min: 1\n`;
    case 'scenario':
      return `name: ${freshName(`count_${d?.name ?? 'rows'}`, new Set())}\ntriggers:\n  - type: manual\noverlap: skip\nsteps:\n  - type: sql\n    sql: ${d ? `select count(*) as n from ${d.name}` : 'select 1 as ok'}\n`;
    case 'endpoint': {
      const model = ctx.models[0] ?? 'my-model';
      return `name: ${model}\nmodel: ${model}\ndescription: Scores ${d?.name ?? 'records'}\n`;
    }
    case 'markdown':
      return '';
    default:
      return assertNever(kind, 'cell kind');
  }
}
