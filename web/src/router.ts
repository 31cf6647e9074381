// A tiny path router over the History API (the server answers index.html for
// every non-API path, so any of these can be opened directly).
import { useSyncExternalStore } from 'react';

const subscribers = new Set<() => void>();
window.addEventListener('popstate', () => subscribers.forEach((s) => s()));

/** Goes to `path` without a reload. */
export function navigate(path: string) {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  subscribers.forEach((s) => s());
}

/** The current path, re-rendering on navigation. */
export function usePath(): string {
  return useSyncExternalStore(
    (s) => {
      subscribers.add(s);
      return () => subscribers.delete(s);
    },
    () => location.pathname,
  );
}
