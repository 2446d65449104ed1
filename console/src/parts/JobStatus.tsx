/** A job's status and progress bar, announced politely as it changes. */
import type { Job } from "../types.ts";
import { Badge, fmtTime } from "../ui.tsx";

const LABELS: Record<string, string> = {
  link: "Linking",
  dry_run: "Dry run",
  drift_check: "Drift check",
  initial_sync: "Initial sync",
  after_connect: "Webhooks and locations after connecting",
  read_levels: "Reading Shopify's quantities",
};

export const jobLabel = (kind: string) => LABELS[kind] ?? kind.replace(/_/g, " ");

export function JobStatus({ job }: { job: Job | null }) {
  if (!job) return null;
  const p = job.progress;
  const pct = p?.total ? Math.min(100, Math.round(((p.done ?? 0) / p.total) * 100)) : null;
  return (
    <div class="job" aria-live="polite" data-job={job.id}>
      <span>
        {jobLabel(job.kind)} <Badge value={job.status} />
      </span>
      {job.status === "running" || job.status === "queued" ? (
        <>
          <span class="muted">{p?.phase ?? ""}</span>
          {pct !== null ? (
            <progress max={100} value={pct} aria-label={`${jobLabel(job.kind)} progress`}>
              {pct}%
            </progress>
          ) : (
            <progress aria-label={`${jobLabel(job.kind)} progress`} />
          )}
        </>
      ) : (
        <span class="muted">{job.finishedAt ? `finished ${fmtTime(job.finishedAt as string)}` : ""}</span>
      )}
      {job.error && (
        <span class="error" role="alert">
          {(job.errorCode as string | null) ?? "FAILED"}: {job.error}
        </span>
      )}
    </div>
  );
}
