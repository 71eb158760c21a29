import { formatDuration, type LocalGrant } from '@stint/contract';
import type { ScreenProps } from './actions';
import { ConfirmButton } from './confirm';

/** Extend (by the system's shortest preset) and Release (after a question): a grant card's and the popover's. */
export function GrantActions({ grant, extendBy, question, bridge, run }: ScreenProps & { grant: LocalGrant; extendBy: number; question: string }) {
  return (
    <>
      <button type="button" className="secondary" onClick={() => void run(bridge.call('extend', { grantId: grant.grantId, durationSeconds: extendBy, reason: '' }))}>
        Extend {formatDuration(extendBy)}
      </button>
      <ConfirmButton ask className="danger" question={question} confirmText="Release now" onConfirm={() => void run(bridge.call('release', { grantId: grant.grantId }))}>
        Release
      </ConfirmButton>
    </>
  );
}
