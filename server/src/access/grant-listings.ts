import { GrantsResponse } from '@stint/contract';
import type { Principal } from '../auth/principal';
import { toGrant, type AccessContext, type GrantView } from './context';
import { grantListQuery, mayListGrants, type GrantListQuery } from './grants';

const MAX_KEPT = 5_000;

/** A listing as the API sends it: the contract's response, encoded once. */
const render = (rows: GrantView[]) => JSON.stringify(GrantsResponse.encode({ grants: rows.map(toGrant) }));

/**
 * `GET /v1/grants` as JSON text. A tray app asks for its person's grants again and again while
 * nothing changes. On SQLite the text is kept per (person, query) and served until anything at
 * all is committed to the database, by this server or any other process (the snapshot
 * reader's revision moves), so a kept answer is never older than a fresh read would be: a
 * revoked grant shows as ended on the very next call. Authorization runs before the cache on
 * every call, and a person's key holds their own `sub`, so no listing crosses people.
 * PostgreSQL has no such cheap revision (other replicas write too) and is read every time.
 */
export class GrantListings {
  private readonly kept = new Map<string, string>();
  private keptAt = -1;

  constructor(
    private readonly ctx: Pick<AccessContext, 'store'>,
    private readonly maxKept = MAX_KEPT,
  ) {}

  async json(user: Principal, query: GrantListQuery): Promise<string> {
    mayListGrants(user, query.scope);
    const { db, snapshot } = this.ctx.store;
    if (!snapshot) return render(await grantListQuery(db, user, query).execute());
    const revision = snapshot.revision();
    if (revision !== this.keptAt) {
      this.kept.clear();
      this.keptAt = revision;
    }
    const key = `${query.scope === 'mine' ? user.sub : '*'}\n${query.active ?? ''}\n${query.limit}`;
    let json = this.kept.get(key);
    if (json === undefined) {
      json = render(await grantListQuery(snapshot.db, user, query).execute());
      // Kept only if nothing was committed while the query waited its turn (what it read could
      // then predate that commit).
      if (snapshot.revision() === revision) {
        if (this.kept.size >= this.maxKept) this.kept.delete(this.kept.keys().next().value!);
        this.kept.set(key, json);
      }
    }
    return json;
  }
}
