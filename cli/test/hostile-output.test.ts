/* eslint-disable no-control-regex -- finding control characters is what this file is for */
// An attack on the approver's terminal: a request in the review queue whose every free-text
// field (reason, ticket, the requester's name from the IdP) holds terminal escapes, a carriage
// return, a newline that would forge a table row, or bidi overrides, as a row stored before the
// API refused them would. Served by a stand-in for the agent on a private socket; the real CLI
// must print none of them raw, in tables, sentences or JSON.
import type { AccessRequest, CoreState } from '@stint/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAgent, type FakeAgent } from '../../test-support/fake-agent';

/** What a terminal obeys: C0 (but newline), DEL, C1, bidi overrides and isolates. */
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

const hostile: AccessRequest = {
  id: '0195f0a0-0000-7000-8000-0000000000a1',
  systemId: 'prod-db',
  requester: { sub: 'mallory\u202e', name: 'Mallory\u001b[2K\r\u001b[32mapproved by security', email: null },
  durationSeconds: 900,
  reason: 'routine\u001b]0;title\u0007\n000000a1  prod-db  approved  15m  Bob  forged row\u2067x\u2069',
  ticket: 'INC-7\u202e1-TICKET',
  breakGlass: false,
  extendsGrantId: null,
  state: 'pending',
  approvalsRequired: 1,
  approverGroups: ['sre-leads'],
  reviews: [{ id: '0195f0a0-0000-7000-8000-0000000000b1', requestId: '0195f0a0-0000-7000-8000-0000000000a1', reviewer: { sub: 'eve', name: 'Eve\u009b2K', email: null }, decision: 'approve', comment: 'ok\u001b[1A', createdAt: '2026-12-02T10:00:00.000Z' }],
  flaggedForReview: false,
  createdAt: '2026-12-02T10:00:00.000Z',
  updatedAt: '2026-12-02T10:00:00.000Z',
  pendingExpiresAt: '2026-12-02T11:00:00.000Z',
  grantId: null,
};

const state: CoreState = {
  serverUrl: 'http://127.0.0.1:8787',
  auth: { status: 'signed-in', user: { sub: 'bob', name: 'Bob\u001b[31m', email: null, groups: ['sre-leads'], isAdmin: false, isAuditor: false }, message: null },
  connection: 'online',
  systems: [
    {
      id: 'incident',
      name: 'Incident\u001b]8;;http://evil.example\u0007 response\u202e',
      description: '',
      risk: 'high',
      provider: 'bundle',
      durationPresetsSeconds: [1800],
      maxDurationSeconds: 7200,
      needsPublicKey: false,
      startWindowSeconds: null,
      bundle: [
        { id: 'prod-db', name: 'Prod\u001b[2J database', provider: 'postgres' },
        { id: 'dev-ssh', name: 'Dev\r SSH\u009b', provider: 'ssh' },
      ],
      policy: { approvalsRequired: 1, approverGroups: ['sre-leads'], autoApproveUpToSeconds: null, breakGlassAllowed: false, justification: 'required', ticketPattern: null, pendingTtlSeconds: 3600 },
    },
  ],
  myRequests: [hostile],
  reviewQueue: [hostile],
  grants: [],
  waiting: [],
  revision: 1,
};

describe('the CLI showing text someone else wrote', () => {
  let agent: FakeAgent;
  beforeAll(async () => {
    agent = await startFakeAgent((method) => (method === 'getState' ? state : method === 'review' ? { ...hostile, state: 'active' } : method === 'request' ? hostile : null));
  });
  afterAll(() => agent?.close());

  const stint = async (...args: string[]) => {
    const result = await agent.stint(...args);
    expect(result.status, result.stderr).toBe(0);
    return result.stdout;
  };

  it('`stint requests` shows every field with its controls visible, and no forged row', async () => {
    const out = await stint('requests');
    expect(out).not.toMatch(RAW);
    expect(out).toContain('Mallory\\x1B[2K\\r\\x1B[32mapproved by security');
    expect(out).toContain('routine\\x1B]0;title\\x07\\n000000a1  prod-db  approved');
    expect(out).toContain('\\u2067x\\u2069');
    // Two tables, one row each: the reason's newline did not become a row.
    expect(out.split('\n').filter((line) => line.startsWith('000000a1'))).toHaveLength(2);
  });

  it('`stint requests --json` is valid JSON with no raw control or bidi character', async () => {
    const out = await stint('requests', '--json');
    expect(out).not.toMatch(RAW);
    expect(JSON.parse(out).review[0]).toEqual(hostile);
  });

  it('`stint status` and `stint approve` sentences escape the names in them', async () => {
    const status = await stint('status');
    expect(status).not.toMatch(RAW);
    expect(status).toContain('Signed in as Bob\\x1B[31m');
    const approve = await stint('approve', '000000a1');
    expect(approve).not.toMatch(RAW);
    expect(approve).toContain('Approved Mallory\\x1B[2K\\r\\x1B[32mapproved by security');
  });

  it('`stint request --bundle` names the bundle and its systems with their controls visible', async () => {
    const result = await agent.stint('request', '--bundle', 'incident', '--for', '30m', '--reason', 'r');
    expect(result.stderr).not.toMatch(RAW);
    expect(result.stderr).toContain('Incident\\x1B]8;;http://evil.example\\x07 response\\u202E is a bundle');
    expect(result.stderr).toContain('Prod\\x1B[2J database and Dev\\r SSH\\x9B');
  });
});
