/**
 * Everything that failed, in one place, each with the action that resolves it: outbound
 * notifications that ran out of attempts (replay), orders not imported (re-process after fixing
 * the cause), link problems (link again after fixing the catalogue) and stock Shopify refused.
 */
import { useState } from "preact/hooks";
import { type ApiError, api, storePath } from "../../api.ts";
import { usePoll } from "../../hooks.ts";
import { LINK_PROBLEM_HELP, type LinkProblemView } from "../../parts/LinkProblems.tsx";
import { href } from "../../router.ts";
import { useSession } from "../../session.tsx";
import type { StoreView } from "../../types.ts";
import { asApiError, ErrorBox, fmtTime, Loading, Section, Table } from "../../ui.tsx";

interface DeadEvent {
  id: number;
  eventId: string;
  storeId: number;
  orderId: number | null;
  type: string;
  attempts: number;
  lastError: string | null;
  createdAt: number;
}

interface OrderProblem {
  id: number;
  store: string;
  name: string;
  status: string;
  reason: string | null;
  updatedAt: number;
}

interface RefusedItem {
  sku: string;
  location: string;
  error: string;
  attempts: number;
  retryAt: string | null;
}

interface Everything {
  dead: DeadEvent[];
  orders: OrderProblem[];
  stores: { domain: string; links: LinkProblemView[]; refused: RefusedItem[] }[];
}

async function loadAll(): Promise<Everything> {
  const [dead, orders, stores] = await Promise.all([
    api.get<{ items: DeadEvent[] }>("/api/v1/outbound/dead"),
    api.get<{ items: OrderProblem[] }>("/api/v1/order-problems?status=parked&limit=200"),
    api.get<{ items: StoreView[] }>("/api/v1/stores"),
  ]);
  const perStore = await Promise.all(
    stores.items.map(async (s) => {
      const [links, status] = await Promise.all([
        api.get<{ items: LinkProblemView[] }>(storePath(s.domain, "/link-problems")),
        api.get<{ failingItems: RefusedItem[] }>(storePath(s.domain, "/inventory/status")),
      ]);
      return { domain: s.domain, links: links.items, refused: status.failingItems };
    }),
  );
  return { dead: dead.items, orders: orders.items, stores: perStore };
}

export function FailuresScreen() {
  const { can } = useSession();
  const all = usePoll(loadAll, [], 5000);
  const [busy, setBusy] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, ApiError>>({});
  const [done, setDone] = useState<string | null>(null);
  const act = async (key: string, label: string, fn: () => Promise<unknown>) => {
    setBusy(key);
    setDone(null);
    try {
      await fn();
      const { [key]: _, ...rest } = errors;
      setErrors(rest);
      setDone(label);
      await all.reload();
    } catch (e) {
      setErrors({ ...errors, [key]: asApiError(e) });
    } finally {
      setBusy(null);
    }
  };
  const operate = can("store.operate");
  if (!all.data) return all.error ? <ErrorBox error={all.error} /> : <Loading what="failures" />;
  const d = all.data;
  const links = d.stores.flatMap((s) => s.links.map((p) => ({ store: s.domain, p })));
  const refused = d.stores.flatMap((s) => s.refused.map((r) => ({ store: s.domain, r })));
  const total = d.dead.length + d.orders.length + links.length + refused.length;
  return (
    <>
      <h1>Failures</h1>
      <p id="failures-summary">
        {total === 0
          ? "Nothing needs attention."
          : `${total} to look at: ${d.dead.length} notifications not delivered, ${d.orders.length} orders not imported, ${links.length} link problems, ${refused.length} quantities Shopify refused.`}
      </p>
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      <ErrorBox error={all.error} />
      <Section title={`Notifications not delivered (${d.dead.length})`} id="dead-letters">
        <p class="muted">
          Order notifications the back office did not accept after every attempt. Fix the receiving side, then
          replay.
        </p>
        <Table
          caption="Outbound notifications that ran out of attempts"
          headers={["Event", "Order", "Attempts", "Last error", "First sent", "Action"]}
          count={d.dead.length}
          empty="None."
          id="dead-table"
        >
          {d.dead.map((e) => {
            const key = `dead-${e.id}`;
            return (
              <tr key={e.id} data-dead={e.id}>
                <td>{e.type}</td>
                <td>{e.orderId ? <a href={href(`/orders/${e.orderId}`)}>order {e.orderId}</a> : "—"}</td>
                <td class="num">{e.attempts}</td>
                <td>{e.lastError ?? ""}</td>
                <td>{fmtTime(e.createdAt)}</td>
                <td>
                  {operate && (
                    <button
                      type="button"
                      disabled={busy !== null}
                      onClick={() =>
                        void act(key, `Notification ${e.eventId} queued again.`, () =>
                          api.post(`/api/v1/outbound/${e.id}/replay`),
                        )
                      }
                    >
                      Replay
                    </button>
                  )}
                  {errors[key] && <ErrorBox error={errors[key]} />}
                </td>
              </tr>
            );
          })}
        </Table>
      </Section>
      <Section title={`Orders not imported (${d.orders.length})`} id="parked-orders">
        <p class="muted">
          Parked orders name what is missing (a SKU the hub does not know, an unmapped location or code). Fix
          it, then re-process the store's parked orders.
        </p>
        <Table
          caption="Parked orders"
          headers={["Order", "Store", "Reason", "Since", "Action"]}
          count={d.orders.length}
          empty="None."
          id="parked-table"
        >
          {d.orders.map((o) => {
            const key = `order-${o.store}`;
            return (
              <tr key={o.id} data-order={o.name}>
                <td>
                  <a href={href(`/orders/${o.id}`)}>{o.name}</a>
                </td>
                <td>{o.store}</td>
                <td>{o.reason ?? o.status}</td>
                <td>{fmtTime(o.updatedAt)}</td>
                <td>
                  {operate && (
                    <button
                      type="button"
                      disabled={busy !== null}
                      onClick={() =>
                        void act(key, `Parked orders of ${o.store} re-processed.`, () =>
                          api.post(storePath(o.store, "/orders/reprocess")),
                        )
                      }
                    >
                      Retry
                    </button>
                  )}
                  {errors[key] && <ErrorBox error={errors[key]} />}
                </td>
              </tr>
            );
          })}
        </Table>
      </Section>
      <Section title={`Link problems (${links.length})`} id="failure-links">
        <Table
          caption="Variants that could not be linked"
          headers={["Store", "Problem", "SKU", "What to do", "Action"]}
          count={links.length}
          empty="None."
          id="failure-links-table"
        >
          {links.map(({ store, p }, i) => {
            const key = `link-${store}`;
            return (
              <tr key={`${store}-${p.kind}-${p.sku}-${i}`} data-problem={p.kind} data-sku={p.sku ?? ""}>
                <td>
                  <a href={href(`/stores/${encodeURIComponent(store)}`)}>{store}</a>
                </td>
                <td>{LINK_PROBLEM_HELP[p.kind]?.label ?? p.kind}</td>
                <td>{p.sku ?? p.barcode ?? "—"}</td>
                <td>{LINK_PROBLEM_HELP[p.kind]?.todo ?? p.detail}</td>
                <td>
                  {operate && (
                    <button
                      type="button"
                      aria-label={`Link again (${store})`}
                      disabled={busy !== null}
                      onClick={() =>
                        void act(key, `${store} linked again.`, () =>
                          api.post(storePath(store, "/jobs"), { kind: "link", waitSeconds: 30 }),
                        )
                      }
                    >
                      Link again
                    </button>
                  )}
                  {errors[key] && <ErrorBox error={errors[key]} />}
                </td>
              </tr>
            );
          })}
        </Table>
      </Section>
      <Section title={`Quantities Shopify refused (${refused.length})`} id="refused">
        <p class="muted">
          The push retries these by itself; a drift check compares and, in absolute mode, corrects everything
          at once.
        </p>
        <Table
          caption="Stock Shopify refused"
          headers={["Store", "SKU", "Location", "Error", "Attempts", "Next retry", "Action"]}
          count={refused.length}
          empty="None."
          id="refused-table"
        >
          {refused.map(({ store, r }) => {
            const key = `drift-${store}`;
            return (
              <tr key={`${store}-${r.sku}-${r.location}`}>
                <td>{store}</td>
                <td>
                  <a href={href(`/stock?sku=${encodeURIComponent(r.sku)}`)}>{r.sku}</a>
                </td>
                <td>{r.location}</td>
                <td>{r.error}</td>
                <td class="num">{r.attempts}</td>
                <td>{fmtTime(r.retryAt)}</td>
                <td>
                  {operate && (
                    <button
                      type="button"
                      disabled={busy !== null}
                      onClick={() =>
                        void act(key, `Drift check of ${store} started.`, () =>
                          api.post(storePath(store, "/jobs"), { kind: "drift_check" }),
                        )
                      }
                    >
                      Check now
                    </button>
                  )}
                  {errors[key] && <ErrorBox error={errors[key]} />}
                </td>
              </tr>
            );
          })}
        </Table>
      </Section>
    </>
  );
}
