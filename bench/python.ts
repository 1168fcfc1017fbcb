/**
 * Python cells: a pandas transform over a generated source (default 1,000,000 rows) through the
 * Python cell's build path (`buildPythonTable`: COPY out to CSV in scratch, bubblewrap, pyarrow into
 * pandas, the transform, pyarrow CSV out, COPY into a staging table) against the same pandas code
 * run directly by the same venv's python on the same data (the same CSV, already on disk: pyarrow
 * read, transform, pyarrow write), in the same run. Target (issue 19): at most 1.3x + 1 s.
 *
 * Then `stagebook.register_model` on a generated table (rows / 20, at least 20,000): a
 * Pipeline(ColumnTransformer(imputer + scaler, one-hot), LogisticRegression) fitted twice (served and
 * holdout copy), converted with skl2onnx and checked against predict_proba; reports the conversion
 * and check time (what registering adds to fitting) and the whole cell build.
 *
 *   npx tsx bench/python.ts [rows]
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { openDatabase } from '../db/client';
import { projects, teams } from '../db/schema';
import { ensurePythonVenv, pythonSettings } from '../server/python/venv';
import { buildPythonTable } from '../server/services/cells/build-python-table';
import { closeSandboxPools } from '../server/services/datasets/sql-sandbox';
import { ensureProjectStorage, ident, schemaNameOf } from '../server/services/datasets/storage';
import { createPostgresDatabase } from '../tests/helpers/db';
import { pythonCellVenv } from '../tests/helpers/python';

const ROWS = Number(process.argv[2] ?? 1_000_000);

const TRANSFORM = `out = src[src["amount"] > 0].copy()
out["amount_adj"] = out["amount"] * 1.1
out["bucket"] = out["category"] + "_" + (out["score"] % 10).astype(str)
out = out.merge(out.groupby("category")["amount"].sum().rename("category_total").reset_index(), on="category")
out["share"] = out["amount"] / out["category_total"]`;

const DIRECT = `import sys, time, pandas as pd, pyarrow as pa
from pyarrow import csv
t0 = time.perf_counter()
types = {"id": pa.int64(), "amount": pa.float64(), "category": pa.string(), "flag": pa.bool_(), "created_at": pa.timestamp("us", tz="UTC"), "score": pa.int64()}
src = csv.read_csv(sys.argv[1], convert_options=csv.ConvertOptions(column_types=types, true_values=["t"], false_values=["f"])).to_pandas()
${TRANSFORM}
csv.write_csv(pa.Table.from_pandas(out, preserve_index=False), sys.argv[2])
print(time.perf_counter() - t0)
`;

async function main() {
  process.env.STAGEBOOK_PYTHON_VENV ??= path.resolve(import.meta.dirname, '../node_modules/.cache/stagebook/python-venv');
  pythonCellVenv();
  const server = await createPostgresDatabase();
  const database = await openDatabase({ url: server.url, poolSize: 4 });
  const scratch = mkdtempSync(path.join(tmpdir(), 'bench-python-'));
  try {
    await database.migrate();
    const [team] = await database.db.insert(teams).values({ name: 'Bench' }).returning();
    const [project] = await database.db.insert(projects).values({ teamId: team!.id, name: 'bench python' }).returning();
    const storage = await ensureProjectStorage(database.db, project!.id);
    const schema = ident(schemaNameOf(project!.id, 'design'));
    await database.query(`CREATE TABLE ${schema}.src AS
      SELECT i::bigint AS id, ((i::bigint * 7919) % 100000) / 100.0::float8 - 5 AS amount,
             (ARRAY['alpha','beta','gamma','delta','epsilon'])[1 + i % 5] AS category, i % 3 = 0 AS flag,
             timestamptz '2024-01-01' + (i % 90) * interval '1 day' AS created_at, (i::bigint * 31) % 1000 AS score
        FROM generate_series(1, ${ROWS}) AS i`);
    await database.query(`ALTER TABLE ${schema}.src OWNER TO ${ident(storage.roleName)}`);
    const scope = { projectId: project!.id, environment: 'design' as const };
    const settings = pythonSettings();
    const venv = await ensurePythonVenv(settings);

    // Direct: the data as the same CSV on disk (not timed), then the pandas code by the venv's python.
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    const csvFile = path.join(scratch, 'src.csv');
    await pipeline(
      client.query(copyTo(`COPY (SELECT id, amount, category, flag, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at, score FROM ${schema}.src) TO STDOUT WITH (FORMAT csv, HEADER true)`)),
      createWriteStream(csvFile),
    );
    await client.end();
    const script = path.join(scratch, 'direct.py');
    writeFileSync(script, DIRECT);

    const rounds = 2;
    const direct: number[] = [];
    const cell: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      const r = spawnSync(venv.python, [script, csvFile, path.join(scratch, 'direct-out.csv')], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
      if (r.status !== 0) throw new Error(r.stderr);
      direct.push((performance.now() - t0) / 1000);
      const t1 = performance.now();
      const built = await buildPythonTable(database.db, scope, { cellId: 'bench', source: `# inputs: src\n# output: out\n${TRANSFORM}\n`, table: `out_${i}`, timeoutMs: 30 * 60_000 });
      cell.push((performance.now() - t1) / 1000);
      if (built.rowCount <= 0) throw new Error('the cell built nothing');
      if (i === 0) console.log(`cell built ${built.rowCount.toLocaleString('en-US')} rows, columns ${built.columns.join(', ')} (${built.mode})`);
    }
    const best = (xs: number[]) => Math.min(...xs);
    const d = best(direct);
    const c = best(cell);
    console.log(`rows: ${ROWS.toLocaleString('en-US')}; best of ${rounds}`);
    console.log(`direct pandas (venv python, read CSV + transform + write CSV, incl. interpreter start): ${d.toFixed(2)} s`);
    console.log(`python cell build path (COPY out, bubblewrap, pandas, COPY in):                    ${c.toFixed(2)} s`);
    console.log(`ratio cell/direct: ${(c / d).toFixed(2)}x; budget 1.3x + 1 s = ${(1.3 * d + 1).toFixed(2)} s -> ${c <= 1.3 * d + 1 ? 'within' : 'OVER'}`);
    await benchRegister(database.db, (q) => database.query(q), scope, schema, storage.roleName);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await closeSandboxPools(database.db);
    await database.close();
    await server.drop();
  }
}

const REGISTER = `from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
pipe = Pipeline([
    ("pre", ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), ["amount", "score", "age"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["category", "region"]),
    ])),
    ("model", LogisticRegression(max_iter=1000)),
])
out = stagebook.register_model("bench", pipe, train=train, target="label", positive_class="bad")`;

async function benchRegister(db: Parameters<typeof buildPythonTable>[0], query: (q: string) => Promise<unknown>, scope: Parameters<typeof buildPythonTable>[1], schema: string, role: string) {
  const rows = Math.max(20_000, Math.round(ROWS / 20));
  await query(`CREATE TABLE ${schema}.train AS
      SELECT i::bigint AS id, ((i::bigint * 7919) % 100000) / 100.0::float8 AS amount, (i::bigint * 31) % 1000 AS score,
             CASE WHEN i % 17 = 0 THEN NULL ELSE 18 + i % 60 END AS age,
             (ARRAY['alpha','beta','gamma','delta','epsilon'])[1 + i % 5] AS category, (ARRAY['n','s','e','w'])[1 + (i / 7) % 4] AS region,
             CASE WHEN ((i::bigint * 7919) % 100000) / 100.0 + ((i::bigint * 31) % 1000) / 2.0 + (i % 13) * 40 > 700 THEN 'bad' ELSE 'good' END AS label
        FROM generate_series(1, ${rows}) AS i`);
  await query(`ALTER TABLE ${schema}.train OWNER TO ${ident(role)}`);
  const t0 = performance.now();
  const built = await buildPythonTable(db, scope, { cellId: 'register', source: `# inputs: train\n# output: out\n${REGISTER}\n`, table: 'registered', timeoutMs: 30 * 60_000, models: true });
  const total = (performance.now() - t0) / 1000;
  const m = built.models[0];
  if (!m) throw new Error('the cell registered no model');
  console.log(`register_model on ${rows.toLocaleString('en-US')} rows (6 columns): fit (served + holdout copy) ${m.entry.seconds.fit.toFixed(2)} s;`);
  console.log(
    `  skl2onnx conversion + onnxruntime check on ${m.entry.check.rows} rows (${m.entry.inputTensor} inputs, max |diff| ${m.entry.check.maxAbsDiff.toExponential(1)}): ${m.entry.seconds.convertAndCheck.toFixed(2)} s, of which importing skl2onnx and onnxruntime ${(m.entry.seconds.imports ?? 0).toFixed(2)} s`,
  );
  console.log(`  whole cell build (COPY out, sandbox, fit, convert, check, COPY in): ${total.toFixed(2)} s; ONNX ${m.bytes.byteLength.toLocaleString('en-US')} bytes`);
}

await main();
