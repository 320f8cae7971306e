/** React access to the studio store: a context holding the store and thin selector hooks. */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { StudioState, StudioStore } from './store';

export const StoreContext = createContext<StudioStore | null>(null);

export function useStudioStore(): StudioStore {
  const s = useContext(StoreContext);
  if (!s) throw new Error('StoreContext is missing');
  return s;
}

/** Select one slice value; components re-render only when it changes. */
export function useStudio<T>(selector: (s: StudioState) => T): T {
  return useStore(useStudioStore(), selector);
}
