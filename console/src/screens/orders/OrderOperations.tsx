/**
 * An order's pickup, holds, fulfillment orders, returns and the back office's order actions
 * (src/fulfillment/order-ops-routes.ts), on the order page.
 */
import { useState } from "preact/hooks";
import { api } from "../../api.ts";
import { usePoll } from "../../hooks.ts";
import { useSession } from "../../session.tsx";
import { Badge, ErrorBox, fmtTime, Section, Table } from "../../ui.tsx";
import { type ActionLine, OrderActions, ReturnReceiptForm } from "./OrderActions.tsx";

interface Hold {
  reason: string;
  note: string | null;
}

interface FulfillmentState {
  deliveryMethod: string | null;
  pickupLocation: { id: string; warehouse: string | null } | null;
  readyForPickupAt: number | null;
  held: boolean;
  holds: Hold[];
  fulfillmentOrders: {
    id: string;
    status: string;
    deliveryMethod: string | null;
    locationId: string | null;
    warehouse: string | null;
    holds: Hold[];
    readyForPickupAt: number | null;
    lines: { shopifyLineId: string; remaining: number; total: number }[];
  }[];
}

interface Return {
  id: string;
  name: string | null;
  status: string;
  lines: {
    returnLineId: string;
    quantity: number;
    processed: number;
    received: number;
    restocked: number;
    reason: string | null;
    customerNote: string | null;
  }[];
  exchangeLines: { shopifyLineId: string; quantity: number }[];
  dispositions: { id: string; quantity: number; type: string }[];
}

interface Action {
  id: number;
  requestId: string;
  kind: string;
  status: string;
  attempts: number;
  errorCode: string | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

const shortId = (gid: string | null) => (gid ? (gid.split("/").pop() ?? gid) : "—");
const holdText = (holds: Hold[]) =>
  holds.map((h) => h.reason.toLowerCase().replace(/_/g, " ") + (h.note ? ` (${h.note})` : "")).join(", ");

export function OrderOperations({
  id,
  name,
  cancelled,
  lines,
  onChanged,
}: {
  id: string;
  name: string;
  cancelled: boolean;
  lines: readonly ActionLine[];
  onChanged: () => void;
}) {
  const { can } = useSession();
  const write = can("orders.write");
  const [receiving, setReceiving] = useState<string | null>(null);
  const [received, setReceived] = useState<string | null>(null);
  const fo = usePoll(
    () => api.get<FulfillmentState | null>(`/api/v1/orders/${id}/fulfillment-orders`),
    [id],
    10_000,
  );
  const returns = usePoll(() => api.get<{ items: Return[] }>(`/api/v1/orders/${id}/returns`), [id], 10_000);
  const actions = usePoll(() => api.get<{ items: Action[] }>(`/api/v1/orders/${id}/actions`), [id], 10_000);
  // The hub answers {"ok":true} (its route helper's answer for null) while the order's
  // fulfillment orders have not been read: treat any answer without the list as not read yet.
  const f = fo.data && Array.isArray(fo.data.fulfillmentOrders) ? fo.data : null;
  const changed = () => {
    fo.reload();
    returns.reload();
    actions.reload();
    onChanged();
  };
  return (
    <>
      {write && (
        <Section title="Act on this order" id="order-act">
          <OrderActions
            id={id}
            name={name}
            cancelled={cancelled}
            pickup={f?.deliveryMethod === "pick_up"}
            ready={f?.readyForPickupAt != null}
            held={f?.held ?? false}
            lines={lines}
            onChanged={changed}
          />
        </Section>
      )}
      <Section title="Delivery and holds" id="delivery">
        <ErrorBox error={fo.error} />
        {f === null || f === undefined ? (
          <p class="muted">
            {fo.loading ? "Reading…" : "Shopify's fulfillment orders have not been read yet."}
          </p>
        ) : (
          <>
            <dl class="kv" id="delivery-summary">
              <dt>Delivery</dt>
              <dd>
                {f.deliveryMethod === "pick_up"
                  ? `Pickup at ${f.pickupLocation?.warehouse ?? shortId(f.pickupLocation?.id ?? null)}`
                  : (f.deliveryMethod ?? "—")}
              </dd>
              {f.deliveryMethod === "pick_up" && (
                <>
                  <dt>Ready for pickup</dt>
                  <dd>{f.readyForPickupAt ? fmtTime(f.readyForPickupAt) : "not yet"}</dd>
                </>
              )}
              <dt>Hold</dt>
              <dd>
                {f.held ? <strong class="error">On hold: {holdText(f.holds)} — do not ship</strong> : "none"}
              </dd>
            </dl>
            <Table
              caption="Shopify's fulfillment orders"
              headers={[
                "Fulfillment order",
                "Status",
                "Delivery",
                "Location (warehouse)",
                "Units left",
                "Holds",
              ]}
              count={f.fulfillmentOrders.length}
              empty="None open."
              id="fulfillment-orders"
            >
              {f.fulfillmentOrders.map((x) => (
                <tr key={x.id}>
                  <td>{shortId(x.id)}</td>
                  <td>
                    <Badge value={x.status} />
                  </td>
                  <td>{x.deliveryMethod?.replace(/_/g, " ") ?? "—"}</td>
                  <td>
                    {shortId(x.locationId)} ({x.warehouse ?? "not mapped"})
                  </td>
                  <td class="num">{x.lines.reduce((n, l) => n + l.remaining, 0)}</td>
                  <td>{x.holds.length > 0 ? holdText(x.holds) : "—"}</td>
                </tr>
              ))}
            </Table>
          </>
        )}
      </Section>
      <Section title="Returns and exchanges" id="returns">
        <ErrorBox error={returns.error} />
        <Table
          caption="Returns of this order"
          headers={[
            "Return",
            "Status",
            "Lines (reason)",
            "Received / restocked",
            "Exchange lines",
            "Dispositions",
            ...(write ? ["Receipt"] : []),
          ]}
          count={returns.data?.items.length ?? 0}
          empty="No return."
          id="returns-table"
        >
          {returns.data?.items.map((r) => (
            <tr key={r.id} data-return={r.id}>
              <td>{r.name ?? shortId(r.id)}</td>
              <td>
                <Badge value={r.status} />
              </td>
              <td>
                {r.lines
                  .map((l) => `${l.quantity} × (${(l.reason ?? "unknown").replace(/_/g, " ")})`)
                  .join(", ")}
              </td>
              <td>{r.lines.map((l) => `${l.received} / ${l.restocked}`).join(", ")}</td>
              <td>
                {r.exchangeLines.map((x) => `${x.quantity} × line ${shortId(x.shopifyLineId)}`).join(", ") ||
                  "—"}
              </td>
              <td>
                {r.dispositions
                  .map((d) => `${d.quantity} ${d.type.toLowerCase().replace(/_/g, " ")}`)
                  .join(", ") || "—"}
              </td>
              {write && (
                <td>
                  {r.status === "open" && r.lines.some((l) => l.received < l.quantity) && (
                    <button
                      type="button"
                      class="secondary"
                      aria-expanded={receiving === r.id}
                      onClick={() => {
                        setReceived(null);
                        setReceiving(receiving === r.id ? null : r.id);
                      }}
                    >
                      What came back…
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </Table>
        {received && (
          <p class="ok" role="status" id="receipt-done">
            {received}
          </p>
        )}
        {write &&
          returns.data?.items
            .filter((r) => r.id === receiving)
            .map((r) => (
              <ReturnReceiptForm
                key={r.id}
                ret={r}
                onClose={() => setReceiving(null)}
                onDone={(m) => {
                  setReceiving(null);
                  setReceived(m);
                  changed();
                }}
              />
            ))}
      </Section>
      <Section title="Order actions" id="order-actions">
        <ErrorBox error={actions.error} />
        <Table
          caption="What the back office asked Shopify to do with this order"
          headers={["Asked", "Action", "Request", "Status", "Error"]}
          count={actions.data?.items.length ?? 0}
          empty="No action."
          id="order-actions-table"
        >
          {actions.data?.items.map((a) => (
            <tr key={a.id}>
              <td>{fmtTime(a.createdAt)}</td>
              <td>{a.kind.replace(/_/g, " ")}</td>
              <td>{a.requestId}</td>
              <td>
                <Badge value={a.status} />
              </td>
              <td>{a.error ? `${a.errorCode ?? ""} ${a.error}` : "—"}</td>
            </tr>
          ))}
        </Table>
      </Section>
    </>
  );
}
