import type { CoreState } from '@stint/contract';
import type { ScreenProps } from '../actions';
import { Text } from '../text';
import { CopyField } from '../copy-field';

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url || 'your Stint server';
  }
}

/** The IdP address while a sign-in waits: for a browser that did not open, or another device. */
function SignInAddress({ url }: { url: string }) {
  return <CopyField label="If your browser did not open, open this address:" value={url} buttonText="Copy address" />;
}

export function SignIn({ state, bridge, run }: ScreenProps & { state: CoreState }) {
  const signingIn = state.auth.status === 'signing-in';
  return (
    <main className="app centered signin">
      <h1 className="brand">Stint</h1>
      <p>Just-in-time access to {hostOf(state.serverUrl)}.</p>
      {state.auth.message && !signingIn && (
        <p className="muted" role="status">
          <Text value={state.auth.message} />
        </p>
      )}
      {state.auth.status === 'sign-in-needed' && <p>Your session ended; sign in again to keep your access.</p>}
      {/* Never disabled: a new sign-in replaces one that is stuck in a browser tab. */}
      <button type="button" className="primary" onClick={() => void run(bridge.call('signIn', {}))}>
        {signingIn ? 'Start again' : 'Sign in'}
      </button>
      {signingIn && (
        <>
          <p aria-live="polite">Finish signing in in your browser…</p>
          {state.auth.signInUrl && <SignInAddress url={state.auth.signInUrl} />}
          <button type="button" onClick={() => void run(bridge.call('cancelSignIn', {}))}>
            Cancel
          </button>
        </>
      )}
    </main>
  );
}
