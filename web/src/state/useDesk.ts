import { useSyncExternalStore } from 'react';
import type { Desk, DeskSnapshot } from './desk';

/** The desk's current snapshot, re-rendering on every change. */
export function useDesk(desk: Desk): DeskSnapshot {
  return useSyncExternalStore(desk.subscribe, desk.get);
}
