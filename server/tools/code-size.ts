/**
 * `npm run lint:size`: functions over 80 lines and files over 400 lines in server/ and workflows/
 * (issue 17). Each one must be listed in `code-size-allow.json` with a reason, else this exits 1;
 * entries no longer over the limit are reported as stale (remove them). `--report` prints every
 * function and file over the limits, longest first, allowed or not, and always exits 0.
 *
 * Uses the TypeScript compiler API (a dependency already) to find functions: declarations,
 * methods, constructors, accessors, function expressions and arrow functions with a block body,
 * named after their declaration, variable or property (else `<anonymous@line>`). A nested
 * function counts on its own, and its lines count in its parent's too.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export const MAX_FUNCTION_LINES = 80;
export const MAX_FILE_LINES = 400;
const ROOTS = ['server', 'workflows'];
const ALLOW_FILE = path.join(path.dirname(new URL(import.meta.url).pathname), 'code-size-allow.json');

export type Oversize = { key: string; kind: 'function' | 'file'; lines: number };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) return [];
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

function nameOf(node: ts.Node, sf: ts.SourceFile): string {
  const own = (node as ts.FunctionLikeDeclaration).name;
  if (own && (ts.isIdentifier(own) || ts.isStringLiteral(own) || ts.isPrivateIdentifier(own))) return own.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyAssignment(parent) && (ts.isIdentifier(parent.name) || ts.isStringLiteral(parent.name))) return parent.name.text;
  if (ts.isPropertyDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return `<anonymous@${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}>`;
}

const isMeasured = (n: ts.Node): n is ts.FunctionLikeDeclaration =>
  ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isConstructorDeclaration(n) || ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n) || ts.isFunctionExpression(n) || (ts.isArrowFunction(n) && ts.isBlock(n.body));

/** The functions and the file of one source text that are over the limits. */
export function oversizeIn(file: string, text: string, limits = { fn: MAX_FUNCTION_LINES, file: MAX_FILE_LINES }): Oversize[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: Oversize[] = [];
  const seen = new Map<string, number>();
  const visit = (node: ts.Node) => {
    if (isMeasured(node) && node.body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > limits.fn) {
        const base = `${file}#${nameOf(node, sf)}`;
        const n = (seen.get(base) ?? 0) + 1;
        seen.set(base, n);
        found.push({ key: n === 1 ? base : `${base}(${n})`, kind: 'function', lines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  const fileLines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (fileLines > limits.file) found.push({ key: file, kind: 'file', lines: fileLines });
  return found;
}

function main(): number {
  const report = process.argv.includes('--report');
  const all = ROOTS.flatMap((r) => sourceFiles(r))
    .sort()
    .flatMap((f) => oversizeIn(f.split(path.sep).join('/'), readFileSync(f, 'utf8')));
  const allow = JSON.parse(readFileSync(ALLOW_FILE, 'utf8')) as Record<string, string>;
  if (report) {
    for (const o of [...all].sort((a, b) => b.lines - a.lines)) console.log(`${String(o.lines).padStart(5)}  ${o.kind.padEnd(8)} ${o.key}${allow[o.key] ? '' : '  (not allowed)'}`);
    const fns = all.filter((o) => o.kind === 'function').length;
    console.log(`${fns} functions over ${MAX_FUNCTION_LINES} lines, ${all.length - fns} files over ${MAX_FILE_LINES} lines`);
    return 0;
  }
  const missing = all.filter((o) => !allow[o.key]?.trim());
  const stale = Object.keys(allow).filter((k) => !all.some((o) => o.key === k));
  for (const k of stale) console.warn(`code-size: ${k} is no longer over the limit: remove it from server/tools/code-size-allow.json`);
  for (const o of missing) {
    const limit = o.kind === 'function' ? `${MAX_FUNCTION_LINES}-line function limit` : `${MAX_FILE_LINES}-line file limit`;
    console.error(`code-size: ${o.key} has ${o.lines} lines, over the ${limit}: split it, or list it in server/tools/code-size-allow.json with the reason`);
  }
  return missing.length ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(main());
