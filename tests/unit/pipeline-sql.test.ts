import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeSelect, loadSqlParser } from '@/server/pipeline';

const reads = (sql: string) => {
  const a = analyzeSelect(sql);
  expect(a.problems).toEqual([]);
  return a.reads.map((r) => r.name).sort();
};
const problem = (sql: string) => analyzeSelect(sql).problems[0];

describe('finding what a SELECT reads with the Postgres parser', () => {
  beforeAll(() => loadSqlParser());

  it('reads plain tables, joins and every subquery form', () => {
    expect(reads('select * from loans')).toEqual(['loans']);
    expect(reads('select * from a join b using (id) left join c on c.id = a.id, d')).toEqual(['a', 'b', 'c', 'd']);
    expect(reads('select * from a where exists (select 1 from b) and id in (select id from c) and x > (select max(x) from d)')).toEqual(['a', 'b', 'c', 'd']);
    expect(reads('select (select count(*) from b) as n, s.* from (select * from a) s')).toEqual(['a', 'b']);
    expect(reads('select * from a, lateral (select * from b where b.id = a.id) s')).toEqual(['a', 'b']);
    expect(reads('select * from a cross join lateral unnest(a.tags) t')).toEqual(['a']);
  });

  it('reads both sides of UNION, INTERSECT and EXCEPT', () => {
    expect(reads('select id from a union select id from b union all select id from c')).toEqual(['a', 'b', 'c']);
    expect(reads('select id from a intersect select id from b except select id from c')).toEqual(['a', 'b', 'c']);
    expect(reads('(with x as (select 1 as id) select id from x) union select id from y')).toEqual(['y']);
  });

  it('excludes CTE names, including CTEs that reference earlier CTEs', () => {
    expect(reads('with a as (select * from b), c as (select * from a) select * from c')).toEqual(['b']);
    expect(reads('with t as (select * from a) select * from t join (with u as (select * from b) select * from u) s on true')).toEqual(['a', 'b']);
  });

  it('treats a table that a CTE shadows as read inside the CTE and as the CTE outside it', () => {
    expect(reads('with loans as (select * from loans where amount > 0) select * from loans')).toEqual(['loans']);
    // A later CTE does not shadow a table for the CTEs before it.
    expect(reads('with c as (select * from a), a as (select 1) select * from c, a')).toEqual(['a']);
  });

  it('handles recursive CTEs, whose name is visible inside themselves', () => {
    expect(reads('with recursive t(n) as (select 1 union all select n + 1 from t where n < 5) select * from t join a on true')).toEqual(['a']);
  });

  it('keeps quoted names exact and gives each read a position', () => {
    const a = analyzeSelect('select *\nfrom "Loans" l\njoin loans_2 on true');
    expect(a.reads).toEqual([
      { name: 'Loans', offset: 14 },
      { name: 'loans_2', offset: 29 },
    ]);
    expect(analyzeSelect("select 'é' from x").reads[0]?.offset).toBe(16);
  });

  it('returns the statement without its semicolon or leading comments', () => {
    expect(analyzeSelect('-- writes: x\nselect 1 as a;\n').statement).toBe('select 1 as a');
  });

  it('refuses DDL, DML and anything that is not a single SELECT', () => {
    for (const sql of [
      'insert into a select 1',
      'update a set x = 1 from b',
      'delete from a',
      'merge into a using b on a.id = b.id when matched then delete',
      'create table a as select 1',
      'drop table a',
      'set role postgres',
      'reset role',
      'set search_path = public',
      'copy a from stdin',
    ]) {
      expect(problem(sql), sql).toMatchObject({ code: 'not-a-select' });
    }
    expect(problem('select * into t from a')).toMatchObject({ code: 'not-a-select', message: expect.stringContaining('SELECT INTO') });
    expect(problem('with d as (delete from a returning *) select * from d')).toMatchObject({ code: 'not-a-select', message: expect.stringContaining('DELETE') });
    expect(problem('select * from a for update')).toMatchObject({ code: 'not-a-select' });
    expect(problem('select 1; drop table a')).toMatchObject({ code: 'multiple-statements', offset: 10 });
    expect(problem('-- only a comment')).toMatchObject({ code: 'empty-cell' });
    // A cell just added is empty: the parser throws on an empty string, the compiler must not.
    expect(problem('')).toMatchObject({ code: 'empty-cell' });
    expect(problem(' \n\t')).toMatchObject({ code: 'empty-cell' });
  });

  it('refuses functions that change the session or run SQL from a string, and schema-qualified names', () => {
    expect(problem("select set_config('role', 'postgres', true)")).toMatchObject({ code: 'forbidden-function', offset: 7 });
    expect(problem("select query_to_xml('select * from users', true, false, '') from a")).toMatchObject({ code: 'forbidden-function' });
    expect(problem("select * from dblink('x', 'y') as t(a int)")).toMatchObject({ code: 'forbidden-function' });
    expect(problem('select * from public.users')).toMatchObject({ code: 'qualified-name', message: expect.stringContaining('"users"') });
    expect(problem('select * from "Other Schema".t')).toMatchObject({ code: 'qualified-name' });
  });

  it('reports a syntax error at the character where the parser stopped', () => {
    expect(problem('select *\nfrom\nwhere x = 1')).toEqual({ code: 'sql-syntax', message: 'syntax error at or near "where"', offset: 14 });
    expect(problem("select 'éé', *\nfrom\nwhere")?.offset).toBe(20);
  });
});
