import type { CoreState } from '@stint/contract';
import { useState } from 'react';
import type { ScreenProps } from '../actions';

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url || 'your Stint server';
  }
}

export function SignIn({ state, bridge, run }: ScreenProps & { state: CoreState }) {
  const [busy, setBusy] = useState(false);
  const waiting = busy || state.auth.status === 'signing-in';
  return (
    <main className="app centered signin">
      <h1 className="brand">Stint</h1>
      <p>Just-in-time access to {hostOf(state.serverUrl)}.</p>
      {state.auth.message && <p className="muted">{state.auth.message}</p>}
      {state.auth.status === 'sign-in-needed' && <p>Your session ended; sign in again to keep your access.</p>}
      <button
        type="button"
        className="primary"
        disabled={waiting}
        onClick={async () => {
          setBusy(true);
          await run(bridge.call('signIn', {}));
          setBusy(false);
        }}
      >
        Sign in
      </button>
      {waiting && <p aria-live="polite">Finish signing in in your browser…</p>}
    </main>
  );
}
