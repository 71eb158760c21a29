import { CompiledQuery, type Insertable, type Kysely } from 'kysely';
import type { Store } from './database';
import type { Database } from './schema';

type Value = string | number | bigint | null;

/**
 * `insert into <table> (<columns>) values (...)` for the hot write paths. The query builder
 * rebuilds and recompiles a wide insert on every call (a fifth of a create + approve's CPU went
 * to Kysely, most of it in inserts); the SQL here depends only on the table, the columns and
 * the row count, so it is made once and the same string is handed to the statement cache.
 * Rows must share their columns (the first row's are used, and the others are checked).
 * PostgreSQL gets `$n` placeholders and, when asked, `returning "id"`.
 */
export async function insertRows<T extends keyof Database & string>(
  store: Pick<Store, 'dialect'>,
  db: Kysely<Database>,
  table: T,
  rows: readonly Insertable<Database[T]>[],
  options: { returningId?: boolean } = {},
): Promise<{ insertId?: bigint; ids: number[] }> {
  const values = flatten(table, rows);
  if (!values) return { ids: [] };
  const returning = store.dialect === 'postgres' && options.returningId === true;
  const result = await db.executeQuery<{ id: number | string }>(CompiledQuery.raw(sqlFor(store.dialect, table, values.columns, rows.length, returning), values.parameters));
  return { ...(result.insertId === undefined ? {} : { insertId: result.insertId }), ids: result.rows.map((row) => Number(row.id)) };
}

/**
 * PostgreSQL: two tables' inserts in one statement (the first in a data-modifying WITH), one
 * round trip instead of two; the second table's new ids come back. For the append-only logs,
 * whose round trips under the append lock hold back every other writer.
 */
export async function insertRowsThen<A extends keyof Database & string, B extends keyof Database & string>(
  db: Kysely<Database>,
  first: { table: A; rows: readonly Insertable<Database[A]>[] },
  then: { table: B; rows: readonly Insertable<Database[B]>[] },
): Promise<{ ids: number[] }> {
  const a = flatten(first.table, first.rows);
  const b = flatten(then.table, then.rows);
  if (!a || !b) throw new Error('insertRowsThen: both inserts need rows');
  const text = `with "${first.table}_rows" as (${sqlFor('postgres', first.table, a.columns, first.rows.length, false)}) ${sqlFor('postgres', then.table, b.columns, then.rows.length, true, a.parameters.length)}`;
  const result = await db.executeQuery<{ id: number | string }>(CompiledQuery.raw(text, [...a.parameters, ...b.parameters]));
  return { ids: result.rows.map((row) => Number(row.id)) };
}

/** The rows' values in column order (the first row's columns; the others must have the same). */
function flatten(table: string, rows: readonly object[]): { columns: string[]; parameters: Value[] } | null {
  const first = rows[0] as Record<string, Value> | undefined;
  if (!first) return null;
  const columns = Object.keys(first);
  const parameters: Value[] = [];
  for (const row of rows as readonly Record<string, Value>[]) {
    if (Object.keys(row).length !== columns.length) throw new Error(`insertRows(${table}): rows differ in their columns`);
    for (const column of columns) {
      if (!(column in row)) throw new Error(`insertRows(${table}): rows differ in their columns`);
      parameters.push(row[column]!);
    }
  }
  return { columns, parameters };
}

const texts = new Map<string, string>();

/** PostgreSQL placeholders are numbered from `after` + 1 (the statement's earlier ones come first). */
function sqlFor(dialect: Store['dialect'], table: string, columns: readonly string[], count: number, returning: boolean, after = 0): string {
  const key = `${dialect} ${table} ${columns.join(',')} ${count} ${returning} ${after}`;
  let text = texts.get(key);
  if (text === undefined) {
    let n = after;
    const placeholder = dialect === 'postgres' ? () => `$${++n}` : () => '?';
    const tuple = () => `(${columns.map(placeholder).join(', ')})`;
    text = `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values ${Array.from({ length: count }, tuple).join(', ')}${returning ? ' returning "id"' : ''}`;
    if (texts.size >= 1000) texts.clear();
    texts.set(key, text);
  }
  return text;
}

const quote = (identifier: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(identifier)) throw new Error(`insertRows: ${JSON.stringify(identifier)} is not a plain column or table name`);
  return `"${identifier}"`;
};
