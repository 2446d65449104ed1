/** Every store, and every flow of each: status, backlog, lag and last success, with pause and resume. */
import { api } from "../../api.ts";
import { loadFlows } from "../../flows.ts";
import { usePoll } from "../../hooks.ts";
import { FlowsTable } from "../../parts/FlowsTable.tsx";
import { href } from "../../router.ts";
import { useSession } from "../../session.tsx";
import type { FlowStatusView, StoreView } from "../../types.ts";
import { Badge, ErrorBox, Loading } from "../../ui.tsx";
import type { Fleet } from "../processes/Processes.tsx";
import type { StoreHealth } from "../store/SyncHealth.tsx";

interface Row {
  readonly store: StoreView;
  readonly flows: FlowStatusView[];
  /** Webhooks' state; null when it could not be read (the store page says why). */
  readonly webhooks: StoreHealth["webhooks"]["state"] | null;
}

export function StoresOverview() {
  const { can } = useSession();
  const stores = usePoll(async (): Promise<Row[]> => {
    const { items } = await api.get<{ items: StoreView[] }>("/api/v1/stores");
    return Promise.all(
      items.map(async (store) => ({
        store,
        flows: await loadFlows(store.domain),
        webhooks: await api
          .get<StoreHealth>(`/api/v1/stores/${encodeURIComponent(store.domain)}/health`)
          .then((h) => h.webhooks.state)
          .catch(() => null),
      })),
    );
  }, []);
  // Whether any process works the stores (an API-only process left alone moves nothing).
  const fleet = usePoll(() => api.get<Fleet>("/api/v1/processes"), [], 5000);
  const noWorker = fleet.data?.problems.find((p) => p.code === "NO_WORKER");
  const orphaned = new Set(
    fleet.data?.stores.filter((s) => s.state === "owner_not_responding").map((s) => s.domain) ?? [],
  );
  return (
    <>
      <div class="page-head">
        <h1>Stores</h1>
        {can("admin") && (
          <a class="button" href={href("/connect")}>
            Connect a store
          </a>
        )}
      </div>
      <ErrorBox error={stores.error} />
      {noWorker && (stores.data?.length ?? 0) > 0 && (
        <p class="warning" role="alert" id="no-worker">
          {noWorker.message} <a href={href("/processes")}>See the processes</a>
        </p>
      )}
      {!stores.data && !stores.error && <Loading what="stores" />}
      {stores.data?.length === 0 && (
        <p class="panel">
          No store is connected yet.{" "}
          {can("admin")
            ? "Choose “Connect a store” to set one up: it takes about two minutes."
            : "Ask an administrator to connect one."}
        </p>
      )}
      {stores.data?.map(({ store, flows, webhooks }) => (
        <section
          class="panel"
          key={store.domain}
          data-store={store.domain}
          aria-labelledby={`store-${store.domain}`}
        >
          <div class="panel-head">
            <h2 id={`store-${store.domain}`}>
              <a href={href(`/stores/${encodeURIComponent(store.domain)}`)}>{store.name || store.domain}</a>
            </h2>
            <span class="muted">{store.domain}</span>
            <Badge value={store.status === "active" ? "active" : "disconnected"} />
            <span class="muted">{store.inventoryMode} mode</span>
            {store.status === "active" && webhooks === "degraded" && (
              // Shopify's changes then arrive only through the backfill and drift check: said here,
              // fixed on the store page (its webhooks section).
              <a href={href(`/stores/${encodeURIComponent(store.domain)}`)} data-webhooks="degraded">
                <Badge value="failing" label="webhooks degraded" />
              </a>
            )}
            {orphaned.has(store.domain) && (
              // Its process crashed or hangs: another takes the store over when the lease lapses.
              <a href={href("/processes")} data-owner="not-responding">
                <Badge value="failing" label="its process stopped answering" />
              </a>
            )}
            {store.status === "active" &&
              flows.every((f) => f.state === "disabled") &&
              can("store.operate") && (
                <a class="button secondary" href={href(`/stores/${encodeURIComponent(store.domain)}/setup`)}>
                  Continue setup
                </a>
              )}
          </div>
          {store.statusReason && store.status !== "active" && <p class="reason">{store.statusReason}</p>}
          <FlowsTable domain={store.domain} flows={flows} onChanged={() => void stores.reload()} />
        </section>
      ))}
    </>
  );
}
