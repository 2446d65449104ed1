/** One order: its lines, reservations, shipments (with Shopify's fulfillments), refunds and history. */
import { api } from "../../api.ts";
import { usePoll } from "../../hooks.ts";
import { href } from "../../router.ts";
import { Badge, ErrorBox, fmtTime, Loading, Section, Table } from "../../ui.tsx";
import { OrderOperations } from "./OrderOperations.tsx";

interface OrderLine {
  sku: string | null;
  title: string | null;
  quantity: number;
  currentQuantity: number;
  fulfilledQuantity: number;
  fulfillableQuantity: number;
  price: string;
  shopifyLineId: string;
}

interface Order {
  id: number;
  store: string;
  name: string;
  status: string;
  parkReason: string | null;
  financialStatus: string | null;
  fulfillmentStatus: string | null;
  cancelledAt: number | null;
  shopifyCreatedAt: number;
  warehouse: string | null;
  email: string | null;
  customerName: string | null;
  currency: string | null;
  totalPrice: string | null;
  lines: OrderLine[];
  redacted: boolean;
}

export interface Shipment {
  id: string;
  orderId: number;
  orderName: string;
  store: string;
  warehouse: string;
  status: string;
  reason: string | null;
  lines: { lineId: string; sku: string | null; quantity: number }[];
  packages: { carrier: string | null; trackingNumber: string | null; trackingUrl: string | null }[];
  fulfillments: { fulfillmentId: string | null; status: string; error: string | null }[];
  createdAt: number;
}

interface Refund {
  id: string;
  restockRule: string;
  restockWarehouse: string | null;
  lines: { lineId: string; sku: string | null; quantity: number }[];
  recordedAt: number;
}

interface HistoryEvent {
  at: number;
  kind: string;
  summary: string;
  data: Record<string, unknown>;
}

export function Tracking({ s }: { s: Shipment }) {
  if (s.packages.length === 0) return <>—</>;
  return (
    <>
      {s.packages.map((p, i) =>
        p.trackingUrl ? (
          <a key={i} href={p.trackingUrl} rel="noreferrer noopener" target="_blank">
            {p.carrier ?? ""} {p.trackingNumber ?? "tracking"}
          </a>
        ) : (
          <span key={i}>
            {p.carrier ?? ""} {p.trackingNumber ?? ""}
          </span>
        ),
      )}
    </>
  );
}

export function fulfillmentState(s: Shipment): string {
  if (s.fulfillments.length === 0) return s.status === "pending" ? "not sent yet" : "—";
  return s.fulfillments.map((f) => f.status + (f.error ? ` (${f.error})` : "")).join(", ");
}

export function OrderPage({ id }: { id: string }) {
  const order = usePoll(() => api.get<Order>(`/api/v1/orders/${id}`), [id], 10_000);
  const shipments = usePoll(
    () => api.get<{ items: Shipment[] }>(`/api/v1/orders/${id}/shipments`),
    [id],
    10_000,
  );
  const refunds = usePoll(() => api.get<{ items: Refund[] }>(`/api/v1/orders/${id}/refunds`), [id], 10_000);
  const history = usePoll(
    () => api.get<{ events: HistoryEvent[] }>(`/api/v1/orders/${id}/history`),
    [id],
    10_000,
  );
  if (order.error && !order.data)
    return (
      <>
        <h1>Order {id}</h1>
        <ErrorBox error={order.error} />
      </>
    );
  if (!order.data) return <Loading what="the order" />;
  const o = order.data;
  const reservations = history.data?.events.filter((e) => e.kind === "reservation") ?? [];
  const ordered = o.lines.reduce((n, l) => n + l.currentQuantity, 0);
  const shippedByLine = new Map<string, number>();
  for (const s of shipments.data?.items ?? []) {
    if (s.status === "rejected") continue;
    for (const l of s.lines) shippedByLine.set(l.lineId, (shippedByLine.get(l.lineId) ?? 0) + l.quantity);
  }
  const shipped = [...shippedByLine.values()].reduce((n, q) => n + q, 0);
  return (
    <>
      <p>
        <a href={href("/orders")}>← Orders</a>
      </p>
      <div class="page-head">
        <h1>Order {o.name}</h1>
        <Badge value={o.status} />
        <span class="muted">
          {o.store} · placed {fmtTime(o.shopifyCreatedAt)} · in Shopify at the last import: payment{" "}
          {o.financialStatus ?? "—"}, fulfillment {o.fulfillmentStatus ?? "unfulfilled"}
        </span>
      </div>
      {o.parkReason && <p class="error">{o.parkReason}</p>}
      <div class="grid2">
        <Section title="Customer" id="customer">
          {o.redacted ? (
            <p class="muted">Personal data erased (retention).</p>
          ) : (
            <dl class="kv">
              <dt>Name</dt>
              <dd>{o.customerName ?? "—"}</dd>
              <dt>Email</dt>
              <dd>{o.email ?? "—"}</dd>
              <dt>Warehouse</dt>
              <dd>{o.warehouse ?? "—"}</dd>
              <dt>Total</dt>
              <dd>{o.totalPrice ? `${o.totalPrice} ${o.currency ?? ""}` : "—"}</dd>
            </dl>
          )}
        </Section>
        <Section title="Reservations" id="reservations">
          <Table
            caption="Stock reserved for this order"
            headers={["When", "Reservation"]}
            count={reservations.length}
            empty="Nothing reserved."
          >
            {reservations.map((r, i) => (
              <tr key={i}>
                <td>{fmtTime(r.at)}</td>
                <td>{r.summary}</td>
              </tr>
            ))}
          </Table>
        </Section>
      </div>
      <Section title={`Lines (${shipped} of ${ordered} units shipped)`} id="lines">
        <Table
          caption="Order lines"
          headers={[
            "SKU",
            "Title",
            "Ordered",
            "Now (after edits)",
            "Shipped by the back office",
            "Fulfilled in Shopify (last import)",
            "Price",
          ]}
          count={o.lines.length}
          id="lines-table"
        >
          {o.lines.map((l) => (
            <tr key={l.shopifyLineId} data-sku={l.sku ?? ""}>
              <td>{l.sku ?? "—"}</td>
              <td>{l.title ?? ""}</td>
              <td class="num">{l.quantity}</td>
              <td class="num">{l.currentQuantity}</td>
              <td class="num">{shippedByLine.get(l.shopifyLineId) ?? 0}</td>
              <td class="num">{l.fulfilledQuantity}</td>
              <td class="num">{l.price}</td>
            </tr>
          ))}
        </Table>
      </Section>
      <OrderOperations
        id={id}
        name={o.name}
        cancelled={o.cancelledAt !== null}
        lines={o.lines.map((l) => ({
          shopifyLineId: l.shopifyLineId,
          sku: l.sku,
          title: l.title,
          currentQuantity: l.currentQuantity,
          open: Math.max(
            0,
            l.currentQuantity - Math.max(l.fulfilledQuantity, shippedByLine.get(l.shopifyLineId) ?? 0),
          ),
        }))}
        onChanged={() => {
          order.reload();
          shipments.reload();
          history.reload();
        }}
      />
      <Section title="Shipments" id="shipments">
        <ErrorBox error={shipments.error} />
        <Table
          caption="Shipments of this order"
          headers={["Shipment", "Warehouse", "Lines", "Status", "In Shopify", "Tracking"]}
          count={shipments.data?.items.length ?? 0}
          empty="No shipment yet."
          id="order-shipments"
        >
          {shipments.data?.items.map((s) => (
            <tr key={s.id} data-shipment={s.id}>
              <td>{s.id}</td>
              <td>{s.warehouse}</td>
              <td>{s.lines.map((l) => `${l.quantity} × ${l.sku ?? "?"}`).join(", ")}</td>
              <td>
                <Badge value={s.status} />
                {s.reason && <div class="reason">{s.reason}</div>}
              </td>
              <td>{fulfillmentState(s)}</td>
              <td>
                <Tracking s={s} />
              </td>
            </tr>
          ))}
        </Table>
      </Section>
      <Section title="Refunds" id="refunds">
        <ErrorBox error={refunds.error} />
        <Table
          caption="Refunds of this order"
          headers={["Recorded", "Lines", "Restock"]}
          count={refunds.data?.items.length ?? 0}
          empty="No refund."
        >
          {refunds.data?.items.map((r) => (
            <tr key={r.id}>
              <td>{fmtTime(r.recordedAt)}</td>
              <td>{r.lines.map((l) => `${l.quantity} × ${l.sku ?? "?"}`).join(", ") || "money only"}</td>
              <td>
                {r.restockRule.replace(/_/g, " ")}
                {r.restockWarehouse ? ` into ${r.restockWarehouse}` : ""}
              </td>
            </tr>
          ))}
        </Table>
      </Section>
      <Section title="History" id="history">
        <ErrorBox error={history.error} />
        <Table
          caption="What happened to this order, in time order"
          headers={["When", "Kind", "What"]}
          count={history.data?.events.length ?? 0}
          empty="No history."
          id="history-table"
        >
          {history.data?.events.map((e, i) => (
            <tr key={i}>
              <td>{fmtTime(e.at)}</td>
              <td>{e.kind}</td>
              <td>{e.summary}</td>
            </tr>
          ))}
        </Table>
      </Section>
    </>
  );
}
