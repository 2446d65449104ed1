/** Data loading: fetch once, then poll while the tab is visible, so screens stay live without reload. */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.ts";

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: ApiError | null;
  readonly loading: boolean;
  reload(): Promise<void>;
}

/**
 * Loads `fn` now and every `intervalMs` (0: once) while the page is visible; `deps` restart it.
 * A failed refresh keeps the last data and shows the error.
 */
export function usePoll<T>(fn: () => Promise<T>, deps: readonly unknown[], intervalMs = 3000): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const generation = useRef(0);

  const load = useCallback(async () => {
    const g = generation.current;
    try {
      const d = await fnRef.current();
      if (g !== generation.current) return;
      setData(d);
      setError(null);
    } catch (e) {
      if (g !== generation.current) return;
      setError(e instanceof ApiError ? e : new ApiError(0, "CLIENT_ERROR", String(e)));
    } finally {
      if (g === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    generation.current++;
    setData(undefined);
    setLoading(true);
    void load();
    if (!intervalMs) return;
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void load();
    }, intervalMs);
    return () => clearInterval(timer);
  }, deps);

  return { data, error, loading, reload: load };
}

/** Runs an action (a button's click), tracking that it is busy and its error. */
export function useAction<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
): { run: (...args: A) => Promise<R | undefined>; busy: boolean; error: ApiError | null; clear(): void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      return await fn(...args);
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, "CLIENT_ERROR", String(e)));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, clear: () => setError(null) };
}
