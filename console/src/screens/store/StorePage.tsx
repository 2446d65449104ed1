/** One store: its flows, the lag chart, jobs, settings, link problems, activity and audit trail. */

import { useState } from "preact/hooks";
import { api, storePath } from "../../api.ts";
import { loadFlows } from "../../flows.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { FlowsTable } from "../../parts/FlowsTable.tsx";
import { LagChart } from "../../parts/LagChart.tsx";
import { LinkProblems, type LinkProblemView } from "../../parts/LinkProblems.tsx";
import { href } from "../../router.ts";
import { useSession } from "../../session.tsx";
import type { StoreView } from "../../types.ts";
import { Badge, ErrorBox, Field, fmtTime, Loading, onSubmit, Section, Table } from "../../ui.tsx";
import { AuditTable } from "../audit/Audit.tsx";
import { JobsPanel } from "./Jobs.tsx";
import { OrderMappingsForm } from "./Mappings.tsx";
import {
  FulfillmentSettingsForm,
  InventoryModeForm,
  OrderSettingsForm,
  StoreSafetyStockForm,
} from "./Settings.tsx";
import { CoalescingForm, SyncHealthPanel } from "./SyncHealth.tsx";

interface Activity {
  id: number;
  flow: string;
  kind: string;
  level: string;
  message: string;
  createdAt: number;
}

/** Disconnecting stops every flow at once; the hub keeps the mapping, links and history. */
function Disconnect({ domain, onDone }: { domain: string; onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const run = useAction(async () => {
    await api.post(storePath(domain, "/disconnect"), reason.trim() ? { reason: reason.trim() } : {});
    setOpen(false);
    onDone();
  });
  if (!open)
    return (
      <p>
        <button type="button" class="secondary" onClick={() => setOpen(true)}>
          Disconnect this store…
        </button>
      </p>
    );
  return (
    <form class="panel" onSubmit={onSubmit(() => void run.run())} aria-labelledby="disconnect-title">
      <h2 id="disconnect-title">Disconnect {domain}?</h2>
      <p>
        Every flow stops at once. The hub keeps the mapping, links and history; connect it again to resume.
      </p>
      <Field label="Why (kept in the store's log)" id="disconnect-reason">
        <input id="disconnect-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </Field>
      <ErrorBox error={run.error} />
      <div class="actions">
        <button type="submit" class="danger" disabled={run.busy}>
          Disconnect
        </button>
        <button type="button" class="secondary" onClick={() => setOpen(false)}>
          Keep it connected
        </button>
      </div>
    </form>
  );
}

/** The store page is long: its sections, one activation away (the hash holds the route). */
const SECTIONS = [
  ["flows", "Flows"],
  ["chart", "Lag chart"],
  ["jobs", "Jobs"],
  ["order-settings", "Orders"],
  ["fulfillment-settings", "Shipments and returns"],
  ["inventory-mode", "Stock mode"],
  ["store-safety-stock", "Safety stock"],
  ["order-mappings", "Back-office codes"],
  ["link-problems", "Link problems"],
  ["activity", "Activity"],
  ["store-audit", "Audit trail"],
] as const;

function OnThisPage() {
  const go = (id: string) => {
    const heading = document.getElementById(`${id}-title`) ?? document.getElementById(id);
    if (!heading) return;
    heading.setAttribute("tabindex", "-1");
    heading.scrollIntoView({ block: "start" });
    heading.focus({ preventScroll: true });
  };
  return (
    <nav aria-label="On this page" class="on-this-page">
      <span class="muted">On this page:</span>
      {SECTIONS.map(([id, label]) => (
        <button type="button" class="link" key={id} onClick={() => go(id)}>
          {label}
        </button>
      ))}
    </nav>
  );
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
      <OnThisPage />
      {s.statusReason && s.status !== "active" && <p class="error">{s.statusReason}</p>}
      {can("admin") && s.status === "active" && (
        <Disconnect domain={domain} onDone={() => void store.reload()} />
      )}
      <Section title="Flows" id="flows">
        <ErrorBox error={flows.error} />
        {flows.data ? (
          <FlowsTable domain={domain} flows={flows.data} onChanged={() => void flows.reload()} />
        ) : (
          <Loading what="flows" />
        )}
      </Section>
      <SyncHealthPanel domain={domain} />
      <Section title="Lag and throughput" id="chart">
        <LagChart domain={domain} />
      </Section>
      <JobsPanel domain={domain} onLinked={() => void problems.reload()} />
      <div class="grid2">
        <OrderSettingsForm domain={domain} />
        <div>
          <FulfillmentSettingsForm domain={domain} />
          <InventoryModeForm domain={domain} mode={s.inventoryMode} onSaved={() => void store.reload()} />
          <CoalescingForm domain={domain} />
          <StoreSafetyStockForm domain={domain} />
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
