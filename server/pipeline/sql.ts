import { loadModule, parseSync, type ParseResult } from 'libpg-query';

/**
 * SQL analysis with the real Postgres parser (libpg-query, WASM). Pure once the parser is loaded:
 * `loadSqlParser()` must have resolved before `analyzeSelect` runs.
 */

let loaded: Promise<void> | null = null;
let ready = false;

export function loadSqlParser(): Promise<void> {
  loaded ??= loadModule().then(() => {
    ready = true;
  });
  return loaded;
}

export function sqlParserReady(): boolean {
  return ready;
}

export type RelationRef = { name: string; schema?: string; offset: number };
export type SqlProblemCode = 'sql-syntax' | 'sql-too-complex' | 'empty-cell' | 'multiple-statements' | 'not-a-select' | 'forbidden-function' | 'qualified-name';
/** `offset` is a character index into the analysed text. */
export type SqlProblem = { code: SqlProblemCode; message: string; offset: number };
export type SelectAnalysis = {
  /** Relations the statement reads, CTE names excluded, first occurrence of each name. */
  reads: RelationRef[];
  problems: SqlProblem[];
  /** The statement's own text (no trailing semicolon), when there is exactly one statement. */
  statement: string | null;
  /** Where `statement` starts in the analysed text (a character index). */
  statementOffset: number;
};

/**
 * Functions a cell may not call, whatever the database's privileges say: they change the session
 * (set_config can switch `role` when the session user is privileged), run SQL given as a string
 * (query_to_xml and friends, cursor_to_xml, ts_stat, ts_rewrite(tsquery, text)) and so escape this
 * analysis, or reach outside the database (files, large objects, other servers, other sessions).
 * This list is the first line of defence, not the boundary: on Postgres the boundary is the role.
 */
const FORBIDDEN_FUNCTIONS = new Set([
  'set_config',
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'ts_stat',
  'ts_rewrite',
  'loread',
  'lowrite',
  'pg_log_backend_memory_contexts',
  'pg_promote',
  'pg_import_system_collations',
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_notify',
  'pg_switch_wal',
]);
const FORBIDDEN_PREFIXES = ['dblink', 'lo_', 'pg_read_', 'pg_ls_', 'pg_file_', 'pg_advisory', 'pg_try_advisory', 'pg_create_', 'pg_drop_', 'pg_logical_', 'pg_replication_'];

export function isForbiddenFunction(name: string): boolean {
  const n = name.toLowerCase();
  return FORBIDDEN_FUNCTIONS.has(n) || FORBIDDEN_PREFIXES.some((p) => n.startsWith(p));
}

const statementNames: Record<string, string> = {
  InsertStmt: 'an INSERT',
  UpdateStmt: 'an UPDATE',
  DeleteStmt: 'a DELETE',
  MergeStmt: 'a MERGE',
  CreateStmt: 'a CREATE TABLE',
  CreateTableAsStmt: 'a CREATE TABLE AS',
  DropStmt: 'a DROP',
  TruncateStmt: 'a TRUNCATE',
  AlterTableStmt: 'an ALTER TABLE',
  VariableSetStmt: 'a SET',
  VariableShowStmt: 'a SHOW',
  TransactionStmt: 'a transaction statement',
  CopyStmt: 'a COPY',
  GrantStmt: 'a GRANT',
  GrantRoleStmt: 'a GRANT',
  ExplainStmt: 'an EXPLAIN',
  DoStmt: 'a DO block',
  CreateFunctionStmt: 'a CREATE FUNCTION',
  ViewStmt: 'a CREATE VIEW',
  IndexStmt: 'a CREATE INDEX',
  CallStmt: 'a CALL',
};

function describeStatement(kind: string): string {
  return statementNames[kind] ?? `a ${kind.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase()} statement`;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Converts a UTF-8 byte offset (what parse-tree locations are) into a string index. */
function byteToCharIndex(text: string, bytes: Buffer, byteOffset: number): number {
  if (bytes.length === text.length) return byteOffset;
  return bytes.subarray(0, byteOffset).toString('utf8').length;
}

const emptyCell: SqlProblem = { code: 'empty-cell', message: 'the cell has no SQL statement: write a SELECT', offset: 0 };

/** Longer cells are refused before parsing. */
export const MAX_SQL_CHARS = 256 * 1024;
/**
 * Postgres parses `1+1+...` into one nested node per operator; libpg-query (WASM) overflows its stack
 * near 10,000 of them (and the walk below sooner), and a stack overflow inside WASM may leave the
 * module unusable. So chains of operators and nested parentheses are counted before parsing.
 */
export const MAX_OPERATOR_CHAIN = 1000;
export const MAX_PAREN_DEPTH = 500;

/** A cheap lexical pass (strings, quoted names and comments skipped) for input too big or deep to parse safely. */
export function sqlComplexityProblem(text: string): SqlProblem | null {
  if (text.length > MAX_SQL_CHARS) {
    return { code: 'sql-too-complex', message: `the SQL is ${text.length.toLocaleString('en-US')} characters long; at most ${MAX_SQL_CHARS.toLocaleString('en-US')}`, offset: 0 };
  }
  // chains[d]: operators in a row at parenthesis depth d, since the last comma or keyword there.
  const chains = [0];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      i = end === -1 ? text.length : end;
    } else if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
    } else if (c === '(') {
      depth++;
      chains[depth] = 0;
      if (depth > MAX_PAREN_DEPTH) return { code: 'sql-too-complex', message: `parentheses are nested more than ${MAX_PAREN_DEPTH} deep here: simplify the expression`, offset: i };
    } else if (c === ')') {
      depth = Math.max(0, depth - 1);
    } else if (c === ',' || c === ';') {
      chains[depth] = 0;
    } else if ('+-*/%^<>=|&#~!'.includes(c)) {
      while (i + 1 < text.length && '+-*/%^<>=|&#~!'.includes(text[i + 1]!) && !(text[i + 1] === '-' && text[i + 2] === '-')) i++;
      const n = (chains[depth] ?? 0) + 1;
      chains[depth] = n;
      if (n > MAX_OPERATOR_CHAIN) {
        return { code: 'sql-too-complex', message: `more than ${MAX_OPERATOR_CHAIN} operators are chained in one expression here, deeper than the SQL parser can nest: split it (a CTE, or sum() over rows)`, offset: i };
      }
    } else if (/[a-z_]/i.test(c)) {
      let j = i;
      while (j + 1 < text.length && /[a-z0-9_$]/i.test(text[j + 1]!)) j++;
      // A keyword that ends an expression starts a new chain (AND/OR too: the parser makes them a flat list); names do not.
      if (/^(select|from|where|group|having|order|by|as|when|then|else|end|case|on|join|union|except|intersect|limit|offset|with|and|or)$/i.test(text.slice(i, j + 1))) chains[depth] = 0;
      i = j;
    }
  }
  return null;
}

export function analyzeSelect(text: string): SelectAnalysis {
  if (!ready) throw new Error('the SQL parser is not loaded: await loadSqlParser() first');
  const problems: SqlProblem[] = [];
  // libpg-query throws a plain Error ("Query cannot be empty") for an empty string: a new cell is one.
  if (text.trim() === '') return { reads: [], problems: [emptyCell], statement: null, statementOffset: 0 };
  const tooComplex = sqlComplexityProblem(text);
  if (tooComplex) return { reads: [], problems: [tooComplex], statement: null, statementOffset: 0 };
  let tree: ParseResult;
  try {
    tree = parseSync(text);
  } catch (err) {
    if (err instanceof RangeError) return { reads: [], problems: [{ code: 'sql-too-complex', message: 'the SQL is nested too deeply to parse: simplify it', offset: 0 }], statement: null, statementOffset: 0 };
    const details = (err as { sqlDetails?: { message: string; cursorPosition: number } }).sqlDetails;
    if (!details) throw err;
    // cursorPosition is a 0-based character index (the parser converts it from bytes itself).
    return { reads: [], problems: [{ code: 'sql-syntax', message: details.message, offset: Math.max(0, Math.min(details.cursorPosition, text.length)) }], statement: null, statementOffset: 0 };
  }
  const bytes = Buffer.from(text, 'utf8');
  const at = (loc: unknown) => byteToCharIndex(text, bytes, typeof loc === 'number' && loc >= 0 ? loc : 0);
  const stmts = tree.stmts ?? [];
  if (stmts.length === 0) return { reads: [], problems: [emptyCell], statement: null, statementOffset: 0 };
  if (stmts.length > 1) {
    problems.push({ code: 'multiple-statements', message: 'a cell holds one SELECT; remove the statements after the first', offset: at(stmts[1]!.stmt_location) });
  }
  const first = stmts[0]!;
  const stmt = first.stmt as unknown as Json;
  const kind = Object.keys(stmt)[0] ?? 'unknown';
  const start = first.stmt_location ?? 0;
  const statement = bytes.subarray(start, first.stmt_len ? start + first.stmt_len : bytes.length).toString('utf8');
  if (kind !== 'SelectStmt') {
    problems.push({
      code: 'not-a-select',
      message: `a sql cell is a single SELECT; this is ${describeStatement(kind)}. Name the dataset in "-- writes:" and the build creates it`,
      offset: at(start),
    });
    return { reads: [], problems, statement: null, statementOffset: at(start) };
  }
  const reads = new Map<string, RelationRef>();
  try {
    walkSelect(stmt.SelectStmt as Json, new Set(), { reads, problems, at });
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return { reads: [], problems: [{ code: 'sql-too-complex', message: 'the SQL is nested too deeply to analyse: simplify it', offset: at(start) }], statement: null, statementOffset: at(start) };
  }
  return { reads: [...reads.values()], problems, statement: problems.length ? null : statement, statementOffset: at(start) };
}

type WalkState = { reads: Map<string, RelationRef>; problems: SqlProblem[]; at: (loc: unknown) => number };

function walk(node: unknown, ctes: ReadonlySet<string>, st: WalkState): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, ctes, st);
    return;
  }
  if (!isObj(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (!isObj(value)) {
      if (Array.isArray(value)) walk(value, ctes, st);
      continue;
    }
    switch (key) {
      case 'SelectStmt':
      case 'larg':
      case 'rarg':
        walkSelect(value, ctes, st);
        break;
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt':
        // Only reachable as a data-modifying CTE: WITH d AS (DELETE ... RETURNING *) SELECT ...
        st.problems.push({ code: 'not-a-select', message: `${describeStatement(key)} inside WITH changes data; a cell only reads`, offset: st.at(findLocation(value)) });
        break;
      case 'RangeVar':
        addRelation(value, ctes, st);
        break;
      case 'FuncCall':
        checkFunction(value, st);
        walk(value, ctes, st);
        break;
      default:
        walk(value, ctes, st);
    }
  }
}

function walkSelect(sel: Json, outer: ReadonlySet<string>, st: WalkState): void {
  if (sel.intoClause) st.problems.push({ code: 'not-a-select', message: 'SELECT INTO creates a table; drop INTO: the build writes the dataset named in "-- writes:"', offset: st.at(findLocation(sel.intoClause)) });
  if (Array.isArray(sel.lockingClause) && sel.lockingClause.length) {
    st.problems.push({ code: 'not-a-select', message: 'FOR UPDATE/SHARE locks rows; a cell only reads', offset: st.at(findLocation(sel.lockingClause)) });
  }
  let scope = outer;
  const withClause = isObj(sel.withClause) ? sel.withClause : null;
  if (withClause) {
    const ctes = (Array.isArray(withClause.ctes) ? withClause.ctes : []).map((c) => (isObj(c) && isObj(c.CommonTableExpr) ? c.CommonTableExpr : {}));
    const names = ctes.map((c) => String(c.ctename ?? ''));
    if (withClause.recursive) {
      // WITH RECURSIVE: every CTE sees all of them, itself included.
      scope = new Set([...outer, ...names]);
      for (const c of ctes) walk({ q: c.ctequery }, scope, st);
    } else {
      // Plain WITH: a CTE sees the ones before it, not itself (a same-named table stays a table).
      const growing = new Set(outer);
      for (const [i, c] of ctes.entries()) {
        walk({ q: c.ctequery }, growing, st);
        growing.add(names[i]!);
      }
      scope = growing;
    }
  }
  for (const [key, value] of Object.entries(sel)) {
    if (key === 'withClause' || key === 'intoClause') continue;
    walk({ [key]: value }, scope, st);
  }
}

function addRelation(rv: Json, ctes: ReadonlySet<string>, st: WalkState): void {
  const name = String(rv.relname ?? '');
  const schema = typeof rv.schemaname === 'string' ? rv.schemaname : undefined;
  const offset = st.at(rv.location);
  if (schema) {
    st.problems.push({ code: 'qualified-name', message: `refer to datasets by name alone ("${name}", not "${schema}.${name}"): each environment has its own`, offset });
    return;
  }
  if (ctes.has(name)) return;
  if (!st.reads.has(name)) st.reads.set(name, { name, offset });
}

function checkFunction(fc: Json, st: WalkState): void {
  const parts = (Array.isArray(fc.funcname) ? fc.funcname : []).map((p) => (isObj(p) && isObj(p.String) ? String(p.String.sval ?? '') : ''));
  const name = parts[parts.length - 1] ?? '';
  if (isForbiddenFunction(name)) {
    st.problems.push({ code: 'forbidden-function', message: `${name}() is not allowed in a cell (it changes the session or runs SQL from a string)`, offset: st.at(fc.location) });
  }
}

function findLocation(node: unknown): number | undefined {
  if (Array.isArray(node)) {
    for (const n of node) {
      const l = findLocation(n);
      if (l !== undefined) return l;
    }
    return undefined;
  }
  if (!isObj(node)) return undefined;
  if (typeof node.location === 'number') return node.location;
  for (const v of Object.values(node)) {
    const l = findLocation(v);
    if (l !== undefined) return l;
  }
  return undefined;
}
