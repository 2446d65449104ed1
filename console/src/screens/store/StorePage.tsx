/** One store: its flows, the lag chart, jobs, settings, link problems, activity and audit trail. */
import { api, storePath } from "../../api.ts";
import { loadFlows } from "../../flows.ts";
import { usePoll } from "../../hooks.ts";
import { FlowsTable } from "../../parts/FlowsTable.tsx";
import { LagChart } from "../../parts/LagChart.tsx";
import { LinkProblems, type LinkProblemView } from "../../parts/LinkProblems.tsx";
import { href } from "../../router.ts";
import { useSession } from "../../session.tsx";
import type { StoreView } from "../../types.ts";
import { Badge, ErrorBox, fmtTime, Loading, Section, Table } from "../../ui.tsx";
import { AuditTable } from "../audit/Audit.tsx";
import { JobsPanel } from "./Jobs.tsx";
import { OrderMappingsForm } from "./Mappings.tsx";
import { FulfillmentSettingsForm, InventoryModeForm, OrderSettingsForm } from "./Settings.tsx";

interface Activity {
  id: number;
  flow: string;
  kind: string;
  level: string;
  message: string;
  createdAt: number;
}

export function StorePage({ domain }: { domain: string }) {
  const { can } = useSession();
  const store = usePoll(() => api.get<StoreView>(storePath(domain)), [domain], 10_000);
  const flows = usePoll(() => loadFlows(domain), [domain]);
  const problems = usePoll(
    () => api.get<{ items: LinkProblemView[] }>(storePath(domain, "/link-problems")),
    [domain],
    10_000,
  );
  const activity = usePoll(
    () => api.get<{ items: Activity[] }>(storePath(domain, "/activity?limit=30")),
    [domain],
    5000,
  );
  if (store.error && !store.data)
    return (
      <>
        <h1>{domain}</h1>
        <ErrorBox error={store.error} />
      </>
    );
  if (!store.data) return <Loading what={domain} />;
  const s = store.data;
  return (
    <>
      <div class="page-head">
        <h1>{s.name || s.domain}</h1>
        <span class="muted">{s.domain}</span>
        <Badge value={s.status === "active" ? "active" : "disconnected"} />
        <span class="muted">
          {s.inventoryMode} mode · {s.authKind === "oauth" ? "app install" : "custom app"} · connected{" "}
          {fmtTime(s.connectedAt)}
        </span>
        {can("store.operate") && (
          <a class="button secondary" href={href(`/stores/${encodeURIComponent(domain)}/setup`)}>
            Setup wizard
          </a>
        )}
      </div>
      {s.statusReason && s.status !== "active" && <p class="error">{s.statusReason}</p>}
      <Section title="Flows" id="flows">
        <ErrorBox error={flows.error} />
        {flows.data ? (
          <FlowsTable domain={domain} flows={flows.data} onChanged={() => void flows.reload()} />
        ) : (
          <Loading what="flows" />
        )}
      </Section>
      <Section title="Lag and throughput" id="chart">
        <LagChart domain={domain} />
      </Section>
      <JobsPanel domain={domain} onLinked={() => void problems.reload()} />
      <div class="grid2">
        <OrderSettingsForm domain={domain} />
        <div>
          <FulfillmentSettingsForm domain={domain} />
          <InventoryModeForm domain={domain} mode={s.inventoryMode} onSaved={() => void store.reload()} />
        </div>
      </div>
      <OrderMappingsForm domain={domain} />
      <Section title="Link problems" id="link-problems">
        <ErrorBox error={problems.error} />
        {problems.data ? (
          <LinkProblems items={problems.data.items} id="link-problems-table" />
        ) : (
          <Loading what="link problems" />
        )}
      </Section>
      <Section title="Activity" id="activity">
        <ErrorBox error={activity.error} />
        <Table
          caption="Activity, newest first"
          headers={["When", "Flow", "What", "Message"]}
          count={activity.data?.items.length ?? 0}
          empty="No activity yet."
        >
          {activity.data?.items.map((a) => (
            <tr key={a.id}>
              <td>{fmtTime(a.createdAt)}</td>
              <td>{a.flow}</td>
              <td>
                <Badge
                  value={a.level === "info" ? "muted" : a.level === "warn" ? "paused" : "failed"}
                  label={a.kind.replace(/_/g, " ")}
                />
              </td>
              <td>{a.message}</td>
            </tr>
          ))}
        </Table>
      </Section>
      <Section title="Audit trail of this store" id="store-audit">
        <AuditTable store={domain} limit={20} />
      </Section>
    </>
  );
}
