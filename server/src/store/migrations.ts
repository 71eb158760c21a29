import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from './database';

/**
 * Versioned migrations, one list for both engines. Add a new entry for every change; never
 * edit one that has shipped.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('requests')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('system_id', 'text', (c) => c.notNull())
          .addColumn('requester_sub', 'text', (c) => c.notNull())
          .addColumn('requester_name', 'text')
          .addColumn('requester_email', 'text')
          .addColumn('requester_groups', 'text', (c) => c.notNull())
          .addColumn('duration_seconds', 'integer', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('ticket', 'text')
          .addColumn('break_glass', 'integer', (c) => c.notNull())
          .addColumn('extends_grant_id', 'text')
          .addColumn('public_key', 'text')
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('approvals_required', 'integer', (c) => c.notNull())
          .addColumn('approver_groups', 'text', (c) => c.notNull())
          .addColumn('flagged', 'integer', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('updated_at', bigint, (c) => c.notNull())
          .addColumn('pending_expires_at', bigint, (c) => c.notNull())
          .addColumn('grant_id', 'text')
          .execute();
        await db.schema.createIndex('requests_requester').on('requests').columns(['requester_sub', 'created_at']).execute();
        await db.schema.createIndex('requests_state').on('requests').columns(['state', 'pending_expires_at']).execute();

        await db.schema
          .createTable('reviews')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('request_id', 'text', (c) => c.notNull().references('requests.id'))
          .addColumn('reviewer_sub', 'text', (c) => c.notNull())
          .addColumn('reviewer_name', 'text')
          .addColumn('reviewer_email', 'text')
          .addColumn('decision', 'text', (c) => c.notNull())
          .addColumn('comment', 'text')
          .addColumn('created_at', bigint, (c) => c.notNull())
          // One person's review counts once, enforced by the database as well as the policy.
          .addUniqueConstraint('reviews_one_per_reviewer', ['request_id', 'reviewer_sub'])
          .execute();

        await db.schema
          .createTable('grants')
          .addColumn('id', 'text', (c) => c.primaryKey())
          // One grant per request: a racing second activation fails here.
          .addColumn('request_id', 'text', (c) => c.notNull().unique().references('requests.id'))
          .addColumn('system_id', 'text', (c) => c.notNull())
          .addColumn('grantee_sub', 'text', (c) => c.notNull())
          .addColumn('grantee_name', 'text')
          .addColumn('grantee_email', 'text')
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('starts_at', bigint, (c) => c.notNull())
          .addColumn('expires_at', bigint, (c) => c.notNull())
          .addColumn('ended_at', bigint)
          .addColumn('end_reason', 'text')
          .addColumn('env_names', 'text', (c) => c.notNull())
          .addColumn('credential_sealed', 'text')
          .addColumn('provider_state', 'text')
          .addColumn('warned', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('revoke_attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', bigint)
          .addColumn('lease_owner', 'text')
          .addColumn('lease_until', bigint)
          .addColumn('revoke_count', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('last_error', 'text')
          .execute();
        await db.schema.createIndex('grants_due').on('grants').columns(['state', 'expires_at']).execute();
        await db.schema.createIndex('grants_grantee').on('grants').columns(['grantee_sub', 'starts_at']).execute();

        const events = db.schema.createTable('events');
        await (dialect === 'postgres'
          ? events.addColumn('id', 'bigserial', (c) => c.primaryKey())
          : events.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        )
          .addColumn('at', bigint, (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('audience', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('audit')
          .addColumn('seq', bigint, (c) => c.primaryKey())
          .addColumn('at', bigint, (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target_type', 'text', (c) => c.notNull())
          .addColumn('target_id', 'text', (c) => c.notNull())
          .addColumn('detail', 'text', (c) => c.notNull())
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('idempotency')
          .addColumn('user_sub', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('body_hash', 'text', (c) => c.notNull())
          .addColumn('request_id', 'text', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addPrimaryKeyConstraint('idempotency_pk', ['user_sub', 'key'])
          .execute();

        if (dialect === 'postgres') {
          // The audit log is append-only: the application role may insert, never rewrite.
          await sql`create or replace function stint_audit_append_only() returns trigger language plpgsql as $$
            begin raise exception 'the audit log is append-only'; end $$`.execute(db);
          await sql`create trigger audit_append_only before update or delete on audit
            for each row execute function stint_audit_append_only()`.execute(db);
        } else {
          await sql`create trigger audit_no_update before update on audit
            begin select raise(abort, 'the audit log is append-only'); end`.execute(db);
          await sql`create trigger audit_no_delete before delete on audit
            begin select raise(abort, 'the audit log is append-only'); end`.execute(db);
        }
      },
    },
    '0002_grant_provider': {
      // Each grant names the provider configuration that issued it, so a reload that drops
      // or changes its system cannot strand its revoke (access/revocation.ts).
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('grants').addColumn('provider_key', 'text').execute();
        await db.schema.alterTable('grants').addColumn('system_config', 'text').execute();
        // Issuance is resumable (access/activation.ts): its failed attempts and, when the
        // provider refuses for good, the reason the requester is shown.
        await db.schema.alterTable('grants').addColumn('issue_attempts', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('requests').addColumn('failure_reason', 'text').execute();
        await db.schema.createIndex('grants_provider_key').on('grants').columns(['provider_key', 'state']).execute();
      },
    },
    '0003_requester_login': {
      // The person's login name as the IdP's login claim gives it (identity.claims.login): what
      // {user} in SSH principals and role names stands for. An opaque sub is not a login.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('requests').addColumn('requester_login', 'text').execute();
      },
    },
    '0004_person_system': {
      // One person's requests and grants for one system: a new request is refused while one of
      // theirs waits or a grant of theirs lives (access/live-access.ts), and reviewers see how
      // often they asked for it lately (views.ts).
      async up(db: Kysely<unknown>) {
        await db.schema.createIndex('requests_requester_system').on('requests').columns(['requester_sub', 'system_id', 'created_at']).execute();
        // With expires_at, so SQLite's planner prefers it to grants_due (state, expires_at), which
        // would read every live grant of everyone.
        await db.schema.createIndex('grants_grantee_system').on('grants').columns(['grantee_sub', 'system_id', 'state', 'expires_at']).execute();
      },
    },
    '0005_write_probe': {
      // Always empty: /readyz writes a row here and rolls it back, to learn whether the store can
      // still take a write (space, permissions, a primary), not only answer a read.
      async up(db: Kysely<unknown>) {
        await db.schema.createTable('write_probe').addColumn('filler', 'text', (c) => c.notNull()).execute();
      },
    },
    '0006_approve_for_less': {
      // An approver may approve for less time than was asked (never more): the review keeps what
      // it approved, and the request what was asked once the shortest approval became the grant's.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('reviews').addColumn('duration_seconds', 'integer').execute();
        await db.schema.alterTable('requests').addColumn('asked_seconds', 'integer').execute();
      },
    },
    '0007_on_call': {
      // A request approved because its requester was on call says so, with the schedule and shift.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('requests').addColumn('auto_approved_by', 'text').execute();
      },
    },
    '0008_start_when_ready': {
      // An approved grant may wait for its requester to start it (start_by) or for a named start
      // time (the request's start_at), its countdown beginning only then.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('requests').addColumn('start_at', bigint).execute();
        await db.schema.alterTable('grants').addColumn('start_by', bigint).execute();
        await db.schema.createIndex('grants_ready').on('grants').columns(['state', 'start_by']).execute();
      },
    },
    '0009_audit_sink_cursor': {
      // Audit rows streamed to a SIEM (audit/sink.ts) go on after a restart from the last one the
      // sink accepted, not from memory; the lease keeps replicas from delivering at once.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('audit_sink_cursor')
          .addColumn('sink', 'text', (c) => c.primaryKey())
          .addColumn('delivered_seq', bigint, (c) => c.notNull())
          .addColumn('lease_owner', 'text')
          .addColumn('lease_until', bigint)
          .addColumn('updated_at', bigint, (c) => c.notNull())
          .addColumn('last_error', 'text')
          .execute();
      },
    },
    '0010_on_call_check': {
      // What the on-call source said of a request it did not approve, for the reviewers' card.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('requests').addColumn('on_call_check', 'text').execute();
      },
    },
    '0011_postgres_append': {
      // PostgreSQL only: fewer round trips while the append lock is held (it serialises every
      // writing transaction across replicas until its commit, so each one held longer is
      // throughput lost). The lock and the audit chain's head come back from one call: in a
      // VOLATILE function each statement takes a fresh snapshot, so the head is read after the
      // lock, including what committed while this transaction waited for it (a single SQL
      // statement would read with a snapshot from before the wait). NOTIFY comes from a trigger on
      // the events insert itself, carrying the statement's last event id, so a replica that has
      // already delivered it reads nothing. 7411001 is lockAppendLog's key (store/database.ts).
      async up(db: Kysely<unknown>) {
        if (dialect !== 'postgres') return;
        await sql`
          create function stint_lock_audit_head(out seq bigint, out hash text) returns setof record
          language plpgsql volatile as $$
          begin
            perform pg_advisory_xact_lock(7411001);
            return query select a.seq, a.hash from audit a order by a.seq desc limit 1;
          end $$`.execute(db);
        await sql`
          create function stint_notify_events() returns trigger language plpgsql as $$
          begin
            perform pg_notify('stint_events', (select max(id)::text from appended));
            return null;
          end $$`.execute(db);
        await sql`create trigger events_notify after insert on events referencing new table as appended for each statement execute function stint_notify_events()`.execute(db);
      },
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}
