import { useEffect, useRef } from 'react';

/** A ref that scrolls its element into view whenever `focused` turns true (a route named it). */
export function useScrollIntoView<T extends HTMLElement>(focused: boolean) {
  const ref = useRef<T>(null);
  useEffect(() => {
    if (focused) ref.current?.scrollIntoView?.({ block: 'center', behavior: 'smooth' });
  }, [focused]);
  return ref;
}
