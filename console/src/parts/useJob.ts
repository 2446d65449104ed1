/**
 * Long work on a store (link, dry run, drift check, initial sync) runs as an operator job in the
 * store's worker: start it, then follow it until it ends. The latest job of the kind is shown on
 * arrival, so a step left and resumed shows what was done.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { type ApiError, api, storePath } from "../api.ts";
import type { Job } from "../types.ts";
import { asApiError } from "../ui.tsx";

export const ENDED = new Set(["done", "failed", "cancelled"]);

export function useJob(domain: string, kind: Job["kind"]) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loaded, setLoaded] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const alive = useRef(true);

  const follow = (j: Job) => {
    if (!alive.current) return;
    setJob(j);
    if (ENDED.has(j.status)) return;
    timer.current = setTimeout(async () => {
      try {
        follow(await api.get<Job>(`/api/v1/jobs/${j.id}`));
      } catch (e) {
        setError(asApiError(e));
      }
    }, 600);
  };

  useEffect(() => {
    alive.current = true;
    api
      .get<{ items: Job[] }>(storePath(domain, "/jobs"))
      .then((r) => {
        const latest = r.items.find((j) => j.kind === kind);
        if (latest) follow(latest);
      })
      .catch(() => undefined)
      .finally(() => setLoaded(true));
    return () => {
      alive.current = false;
      if (timer.current) clearTimeout(timer.current);
    };
  }, [domain, kind]);

  const start = async () => {
    setError(null);
    try {
      follow(await api.post<Job>(storePath(domain, "/jobs"), { kind, waitSeconds: 0 }));
    } catch (e) {
      setError(asApiError(e));
    }
  };
  const cancel = async () => {
    if (!job) return;
    try {
      follow(await api.post<Job>(`/api/v1/jobs/${job.id}/cancel`));
    } catch (e) {
      setError(asApiError(e));
    }
  };
  const running = job !== null && !ENDED.has(job.status);
  return { job, error, loaded, start, cancel, running };
}
