// The window's hash routes (format and parser in contract/src/window-routes.ts) as React state.
import { useCallback, useSyncExternalStore } from 'react';
import { parseRoute, routeHash, type Route } from '@stint/contract';

export { HOME, MAX_HASH_LENGTH, parseRoute, routeHash, type Route, type RequestFormPrefill } from '@stint/contract';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}
const readHash = () => window.location.hash;
const serverHash = () => '';

/**
 * The current route and a way to change it. Reads the hash only at render, after main.tsx's
 * getBridge() has taken web mode's `#token=...` (history.replaceState fires no hashchange, so
 * nothing here ever sees or rewrites the token). The raw hash is returned too, as a key that
 * changes whenever a new link arrives.
 */
export function useRoute(): { route: Route; hash: string; navigate(route: Route): void } {
  const hash = useSyncExternalStore(subscribe, readHash, serverHash);
  const navigate = useCallback((route: Route) => {
    const next = routeHash(route);
    if (window.location.hash !== next) window.location.hash = next;
  }, []);
  return { route: parseRoute(hash), hash, navigate };
}
