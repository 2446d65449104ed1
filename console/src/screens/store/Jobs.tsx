/** Long work on the store as jobs: start one, follow its progress, cancel it, read its result. */
import { useState } from "preact/hooks";
import { api, storePath } from "../../api.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { DryRunTable } from "../../parts/DryRunTable.tsx";
import { JobStatus, jobLabel } from "../../parts/JobStatus.tsx";
import { ENDED } from "../../parts/useJob.ts";
import { useSession } from "../../session.tsx";
import { type DryRunNumbers, driftSentence, dryRunSentence, linkSentence } from "../../summaries.ts";
import type { DryRunReport, Job } from "../../types.ts";
import { Badge, ErrorBox, fmtTime, Section, Table } from "../../ui.tsx";

const KINDS: readonly { kind: Job["kind"]; about: string }[] = [
  { kind: "link", about: "Match the hub's variants to Shopify's by SKU, then barcode." },
  { kind: "dry_run", about: "Compare Shopify's quantities with the hub's, changing nothing." },
  { kind: "drift_check", about: "Compare now and, in absolute mode, correct the differences." },
  { kind: "initial_sync", about: "Delta mode: send the hub's count once where Shopify differs." },
];

/** One sentence whose numbers add up: what the job found. */
export function jobSummary(job: Job): string {
  if (job.status !== "done") return job.error ?? "";
  const r = (job.result ?? {}) as Record<string, number>;
  switch (job.kind) {
    case "link":
      return linkSentence(r);
    case "dry_run":
      return Array.isArray((job.result as { rows?: unknown } | null)?.rows)
        ? dryRunSentence(job.result as DryRunNumbers)
        : `${r.checked ?? 0} compared`;
    case "drift_check":
      return driftSentence(r);
    case "initial_sync":
      return `${r.read} read, ${r.toSend} to send once`;
    default:
      return "";
  }
}

export function JobsPanel({ domain, onLinked }: { domain: string; onLinked: () => void }) {
  const { can } = useSession();
  const jobs = usePoll(
    async () => {
      const r = await api.get<{ items: Job[] }>(storePath(domain, "/jobs"));
      if (r.items[0]?.kind === "link" && r.items[0].status === "done") onLinked();
      return r;
    },
    [domain],
    2000,
  );
  const [report, setReport] = useState<Job | null>(null);
  const start = useAction(async (kind: Job["kind"]) => {
    await api.post<Job>(storePath(domain, "/jobs"), { kind });
    await jobs.reload();
  });
  const cancel = useAction(async (id: number) => {
    await api.post(`/api/v1/jobs/${id}/cancel`);
    await jobs.reload();
  });
  const items = jobs.data?.items ?? [];
  const active = items.filter((j) => !ENDED.has(j.status));
  return (
    <Section title="Jobs" id="jobs">
      {can("store.operate") && (
        <div class="actions">
          {KINDS.map((k) => (
            <button
              type="button"
              class="secondary"
              key={k.kind}
              title={k.about}
              disabled={start.busy || active.some((j) => j.kind === k.kind)}
              onClick={() => void start.run(k.kind)}
            >
              {k.kind === "link" ? "Link again" : jobLabel(k.kind)}
            </button>
          ))}
        </div>
      )}
      <ErrorBox error={start.error ?? cancel.error ?? jobs.error} />
      {active.map((j) => (
        <JobStatus job={j} key={j.id} />
      ))}
      <Table
        caption="Latest jobs"
        headers={["Job", "Status", "Started", "Result", ""]}
        count={items.length}
        empty="No job has run yet."
        id="jobs-table"
      >
        {items.slice(0, 10).map((j) => (
          <tr key={j.id} data-job={j.id}>
            <td>{jobLabel(j.kind)}</td>
            <td>
              <Badge value={j.status} />
              {!ENDED.has(j.status) && j.progress && <span class="muted"> {j.progress.phase}</span>}
            </td>
            <td>{fmtTime(j.createdAt ?? null)}</td>
            <td>{jobSummary(j)}</td>
            <td>
              {!ENDED.has(j.status) && can("store.operate") && (
                <button type="button" class="secondary" onClick={() => void cancel.run(j.id)}>
                  Cancel
                </button>
              )}
              {j.status === "done" && j.kind === "dry_run" && (
                <button type="button" class="link" onClick={() => setReport(report?.id === j.id ? null : j)}>
                  {report?.id === j.id ? "Hide report" : "Show report"}
                </button>
              )}
            </td>
          </tr>
        ))}
      </Table>
      {report && <DryRunTable report={report.result as DryRunReport} domain={domain} />}
    </Section>
  );
}
