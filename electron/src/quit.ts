// The question asked on Quit, as data (dialog.showMessageBox is glue in main.ts).
import type { CoreState } from '@stint/contract';
import { activeGrants } from './tray-menu';

export interface QuitPrompt {
  message: string;
  detail: string;
  buttons: ['Release and quit', 'Keep and quit', 'Cancel'];
  defaultId: 0;
  cancelId: 2;
  grantIds: string[];
}

export type QuitChoice = 'release' | 'keep' | 'cancel';

/** null: nothing is active, so quit without asking. */
export function quitPrompt(state: CoreState, now: number): QuitPrompt | null {
  const grants = activeGrants(state, now);
  if (grants.length === 0) return null;
  const names = grants.map((g) => g.systemId).join(', ');
  return {
    message: grants.length === 1 ? `Release your access to ${names} before quitting?` : `Release your ${grants.length} active grants (${names}) before quitting?`,
    // Honest about what keeping means (DESIGN.md, "Why three layers of expiry"): with the app
    // closed, nothing on this machine wipes the keychain item at the deadline; the server
    // still revokes the credential then, and Stint wipes it at next start.
    detail:
      'Released access ends now, on the server too. Kept access stays usable until its deadline; ' +
      'the server revokes it then, and Stint removes it from this machine when it next starts.',
    buttons: ['Release and quit', 'Keep and quit', 'Cancel'],
    defaultId: 0,
    cancelId: 2,
    grantIds: grants.map((g) => g.grantId),
  };
}

export function quitChoice(response: number): QuitChoice {
  return response === 0 ? 'release' : response === 1 ? 'keep' : 'cancel';
}
