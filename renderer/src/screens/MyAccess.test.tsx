// What a person's own request list says of how it was decided: approved for less, or at once
// because they were on call.
import type { CoreState, StintBridge } from '@stint/contract';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { accessRequest, coreState } from '../../../test-support/fixtures';
import { MyAccess } from './MyAccess';

const bridge = {} as StintBridge;
const run = async <T,>(work: Promise<T>) => work;
const rendered = (patch: Parameters<typeof accessRequest>[0]) =>
  renderToStaticMarkup(<MyAccess state={coreState({ myRequests: [accessRequest(patch)] }) as CoreState} bridge={bridge} run={run} />);

describe('my requests', () => {
  it('says a request was approved at once because its requester was on call, and for which schedule', () => {
    const html = rendered({ state: 'active', autoApprovedBy: { kind: 'on-call', source: 'pagerduty', schedule: 'PSCHED1', shiftStart: null, shiftEnd: null } });
    expect(html).toContain('approved at once: you were on call (pagerduty schedule PSCHED1)');
  });

  it('says nothing of on-call for a reviewed request', () => {
    expect(rendered({ state: 'active', autoApprovedBy: null })).not.toContain('on call');
  });
});

describe('approvals that wait to be started', () => {
  const ops = { grantId: '0195f0a0-3333-7000-8000-00005eed0001', requestId: '0195f0a0-2222-7000-8000-0000a1b2c3d4', systemId: 'ops-console', durationSeconds: 1800 };
  const html = (waiting: CoreState['waiting']) => renderToStaticMarkup(<MyAccess state={coreState({ waiting }) as CoreState} bridge={bridge} run={run} />);

  it('offers Start now and Give up on one that waits for its requester, with its deadline', () => {
    const out = html([{ ...ops, startBy: new Date(Date.now() + 3_600_000).toISOString(), startAt: null }]);
    expect(out).toContain('Approved, not started');
    expect(out).toContain('Start now');
    expect(out).toContain('Give up');
    expect(out).toMatch(/30m approved · start before [^;]+; the countdown begins then/);
  });

  it('says when a scheduled one starts by itself, with no Start button', () => {
    const out = html([{ ...ops, startBy: null, startAt: new Date(Date.now() + 3_600_000).toISOString() }]);
    expect(out).toMatch(/starts by itself at /);
    expect(out).not.toContain('Start now');
  });

  it('shows no such section when nothing waits', () => {
    expect(html([])).not.toContain('Approved, not started');
  });
});
