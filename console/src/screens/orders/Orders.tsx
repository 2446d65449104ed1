/** Orders: search by number or customer email, filter by status and store, newest first, paged. */
import { useState } from "preact/hooks";
import { api, qs } from "../../api.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { href } from "../../router.ts";
import type { StoreView } from "../../types.ts";
import { Badge, ErrorBox, fmtTime, More, onSubmit, SelectField, Table } from "../../ui.tsx";

export interface OrderSummary {
  id: number;
  store: string;
  name: string;
  email: string | null;
  createdAt: number;
  status: {
    hub: string;
    financial: string | null;
    fulfillment: string | null;
    cancelled: boolean;
    parked: boolean;
    reason: string | null;
  };
  total: string | null;
  currency: string | null;
}

type Page = { items: OrderSummary[]; nextCursor: string | null };

const STATUSES = ["imported", "parked", "waiting", "skipped", "cancelled"];

export function OrdersScreen() {
  const stores = usePoll(() => api.get<{ items: StoreView[] }>("/api/v1/stores"), [], 0);
  const [q, setQ] = useState("");
  const [status, setStatus] = useState("");
  const [store, setStore] = useState("");
  const [query, setQuery] = useState({ q: "", status: "", store: "" });
  const [more, setMore] = useState<OrderSummary[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const page = usePoll(
    async () => {
      const r = await api.get<Page>(`/api/v1/order-search${qs({ ...query, limit: 50 })}`);
      setMore((m) => (m.length ? m : []));
      if (more.length === 0) setNext(r.nextCursor);
      return r;
    },
    [query],
    10_000,
  );
  const loadMore = useAction(async () => {
    if (!next) return;
    const r = await api.get<Page>(`/api/v1/order-search${qs({ ...query, limit: 50, cursor: next })}`);
    setMore((m) => [...m, ...r.items]);
    setNext(r.nextCursor);
  });
  const items = [
    ...(page.data?.items ?? []),
    ...more.filter((m) => !page.data?.items.some((i) => i.id === m.id)),
  ];
  return (
    <>
      <h1>Orders</h1>
      <form
        class="toolbar"
        aria-label="Search orders"
        onSubmit={onSubmit(() => {
          setMore([]);
          setQuery({ q: q.trim(), status, store });
        })}
      >
        <div class="field inline">
          <label for="order-q">Order number or customer email</label>
          <input
            id="order-q"
            type="search"
            value={q}
            onInput={(e) => setQ(e.currentTarget.value)}
            placeholder="#1001 or name@example.com"
          />
        </div>
        <SelectField
          id="order-status"
          label="Status"
          value={status}
          onChange={setStatus}
          options={STATUSES}
          any="Any"
        />
        <SelectField
          id="order-store"
          label="Store"
          value={store}
          onChange={setStore}
          options={stores.data?.items.map((s) => s.domain) ?? []}
          any="All stores"
        />
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={page.error ?? loadMore.error} />
      <section class="panel" aria-label="Orders found">
        <Table
          caption="Orders, newest first"
          headers={[
            "Order",
            "Store",
            "Placed",
            "Customer email",
            "Hub status",
            "Payment",
            "Fulfillment",
            "Total",
          ]}
          count={items.length}
          empty={page.loading ? "Loading…" : "No order matches."}
          id="orders-table"
        >
          {items.map((o) => (
            <tr key={o.id} data-order={o.name}>
              <th scope="row">
                <a href={href(`/orders/${o.id}`)}>{o.name}</a>
              </th>
              <td>{o.store}</td>
              <td>{fmtTime(o.createdAt)}</td>
              <td>{o.email ?? "—"}</td>
              <td>
                <Badge value={o.status.hub} />
                {o.status.reason && <div class="reason">{o.status.reason}</div>}
              </td>
              <td>{o.status.financial ?? "—"}</td>
              <td>{o.status.fulfillment ?? "unfulfilled"}</td>
              <td class="num">{o.total ? `${o.total} ${o.currency ?? ""}` : "—"}</td>
            </tr>
          ))}
        </Table>
        <More next={next} onMore={() => void loadMore.run()} busy={loadMore.busy} />
      </section>
    </>
  );
}
