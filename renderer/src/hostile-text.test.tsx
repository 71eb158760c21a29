/* eslint-disable no-control-regex -- finding control characters is what this file is for */
// An attack on the approver's screen: every free-text field of a request in the review queue
// (and a name from the IdP) holds terminal escapes, a carriage return or bidi overrides, as a
// row stored before the API refused them would. The rendered markup must hold none of them raw,
// and show each as a visible escape instead.
import type { CoreState } from '@stint/contract';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { accessRequest } from '../../test-support/fixtures';
import { noticeText } from './notice';
import { Approvals } from './screens/Approvals';
import { MyAccess } from './screens/MyAccess';

const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

// The fixture's pending prod-db request, with every free-text field hostile.
const hostile = accessRequest({
  requester: { sub: 'mallory\u202e', name: 'Mallory\u001b[2K\r\u001b[32mapproved by security', email: 'm\u0007@example.com' },
  reason: 'routine\u001b]0;title\u0007 work\nline two\u2067hidden\u2069',
  ticket: 'INC-7\u202e1-TICKET',
});

const state = {
  serverUrl: 'http://127.0.0.1:8787',
  auth: { status: 'signed-in', user: { sub: 'bob', name: 'Bob', email: null, groups: ['sre-leads'], isAdmin: false, isAuditor: false }, message: null },
  connection: 'online',
  systems: [],
  myRequests: [hostile],
  reviewQueue: [hostile],
  grants: [],
  waiting: [],
  revision: 1,
} satisfies CoreState;

const bridge = { call: async () => undefined, onState: () => () => {}, onNotice: () => () => {} } as never;
const run = (async () => undefined) as never;

describe('stored text with control and bidi characters', () => {
  it('is shown with every control visible in the review queue, never raw', () => {
    const html = renderToStaticMarkup(<Approvals state={state} bridge={bridge} run={run} />);
    expect(html).not.toMatch(RAW);
    expect(html).toContain('Mallory<span class="control-char"');
    expect(html).toContain('\\x1B');
    expect(html).toContain('\\r');
    expect(html).toContain('INC-7<span class="control-char" title="A control or text-direction character, shown as its code">\\u202E</span>1-TICKET');
    expect(html).toContain('\\u2067');
    expect(html).toContain('work\nline two'); // a reason keeps its line breaks
    expect(html).toMatch(/aria-label="Mallory\\x1B\[2K\\r\\x1B\[32mapproved by security requests prod-db"/);
  });

  it('is shown visibly in the requester’s own list and in toasts', () => {
    const html = renderToStaticMarkup(<MyAccess state={state} bridge={bridge} run={run} />);
    expect(html).not.toMatch(RAW);
    expect(noticeText({ kind: 'review-requested', request: hostile })).toBe('Mallory\\x1B[2K\\r\\x1B[32mapproved by security asks for prod-db for 15m.');
  });
});
