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
  const first = rows[0] as Record<string, Value> | undefined;
  if (!first) return { ids: [] };
  const columns = Object.keys(first);
  const parameters: Value[] = [];
  for (const row of rows as readonly Record<string, Value>[]) {
    if (Object.keys(row).length !== columns.length) throw new Error(`insertRows(${table}): rows differ in their columns`);
    for (const column of columns) {
      if (!(column in row)) throw new Error(`insertRows(${table}): rows differ in their columns`);
      parameters.push(row[column]!);
    }
  }
  const returning = store.dialect === 'postgres' && options.returningId === true;
  const result = await db.executeQuery<{ id: number | string }>(CompiledQuery.raw(sqlFor(store.dialect, table, columns, rows.length, returning), parameters));
  return { ...(result.insertId === undefined ? {} : { insertId: result.insertId }), ids: result.rows.map((row) => Number(row.id)) };
}

const texts = new Map<string, string>();

function sqlFor(dialect: Store['dialect'], table: string, columns: readonly string[], count: number, returning: boolean): string {
  const key = `${dialect} ${table} ${columns.join(',')} ${count} ${returning}`;
  let text = texts.get(key);
  if (text === undefined) {
    let n = 0;
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
