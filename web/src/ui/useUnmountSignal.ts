// A signal that aborts when the component unmounts, so a job nobody looks
// at any more is not read again and again.
import { useCallback, useEffect, useRef } from 'react';

/** Returns a getter of the mounted component's signal (call it in handlers, after the first render). */
export function useUnmountSignal(): () => AbortSignal {
  const controller = useRef(new AbortController());
  useEffect(() => {
    // A fresh controller per mount: StrictMode mounts, unmounts and mounts again.
    const mounted = new AbortController();
    controller.current = mounted;
    return () => mounted.abort();
  }, []);
  return useCallback(() => controller.current.signal, []);
}
