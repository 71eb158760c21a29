import type { CoreState } from '@stint/contract';
import { useState } from 'react';
import type { ScreenProps } from '../actions';
import { Text } from '../text';

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url || 'your Stint server';
  }
}

/** The IdP address while a sign-in waits: for a browser that did not open, or another device. */
function SignInAddress({ url }: { url: string }) {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  return (
    <div className="signin-url">
      <label htmlFor="signin-url">If your browser did not open, open this address:</label>
      <input id="signin-url" readOnly value={url} onFocus={(event) => event.currentTarget.select()} />
      <button
        type="button"
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(url);
            setCopied('yes');
          } catch {
            // No clipboard permission: the address is selected for Ctrl-C instead.
            (document.getElementById('signin-url') as HTMLInputElement | null)?.select();
            setCopied('failed');
          }
        }}
      >
        Copy address
      </button>
      <span aria-live="polite" className="muted">
        {copied === 'yes' ? 'Copied.' : copied === 'failed' ? 'Selected; press Ctrl-C to copy.' : ''}
      </span>
    </div>
  );
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
