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
