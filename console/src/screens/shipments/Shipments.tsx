/** Shipments from the back office, newest first, with Shopify's fulfillment state and tracking. */
import { useState } from "preact/hooks";
import { api, qs } from "../../api.ts";
import { usePoll } from "../../hooks.ts";
import { usePaged } from "../../hooksPaged.ts";
import { href } from "../../router.ts";
import type { StoreView } from "../../types.ts";
import { Badge, ErrorBox, fmtTime, More, SelectField, Table } from "../../ui.tsx";

export interface ShipmentItem {
  id: string;
  store: string;
  order: { id: number; name: string };
  warehouse: string;
  status: string;
  shopifyState: "not_fulfilled" | "partially_fulfilled" | "fulfilled";
  unitsShipped: number;
  unitsFulfilledInShopify: number;
  lines: { lineId: string; sku: string | null; quantity: number; fulfilledInShopify: number }[];
  tracking: { carrier: string | null; number: string | null; url: string | null }[];
  trackingPending: boolean;
  error: string | null;
  createdAt: number;
}

const STATUSES = ["pending", "applied", "partially_applied", "parked", "rejected", "failed"];

export function TrackingCell({ s }: { s: ShipmentItem }) {
  if (s.tracking.length === 0) return <>{s.trackingPending ? "tracking to follow" : "—"}</>;
  return (
    <>
      {s.tracking.map((t, i) =>
        t.url ? (
          <a key={i} href={t.url} target="_blank" rel="noreferrer noopener">
            {t.carrier ?? ""} {t.number ?? "tracking"}
          </a>
        ) : (
          <span key={i}>
            {t.carrier ?? ""} {t.number ?? ""}
          </span>
        ),
      )}
    </>
  );
}

export function ShipmentsTable({
  items,
  caption,
  filtered,
}: {
  items: readonly ShipmentItem[];
  caption: string;
  filtered?: boolean;
}) {
  return (
    <Table
      caption={caption}
      headers={[
        "Shipment",
        "Order",
        "Store",
        "Warehouse",
        "Lines",
        "Hub status",
        "In Shopify",
        "Tracking",
        "Created",
      ]}
      count={items.length}
      empty={
        filtered
          ? "No shipment of this store or status."
          : "No shipment yet: the back office's shipments show up here once it sends them to the hub, with Shopify's fulfillment and tracking."
      }
      id="shipments-table"
    >
      {items.map((s) => (
        <tr key={`${s.store}-${s.id}`} data-shipment={s.id}>
          <th scope="row">{s.id}</th>
          <td>
            <a href={href(`/orders/${s.order.id}`)}>{s.order.name}</a>
          </td>
          <td>{s.store}</td>
          <td>{s.warehouse}</td>
          <td>{s.lines.map((l) => `${l.quantity} × ${l.sku ?? "?"}`).join(", ")}</td>
          <td>
            <Badge value={s.status} />
            {s.error && <div class="reason">{s.error}</div>}
          </td>
          <td>
            {s.shopifyState.replace(/_/g, " ")} ({s.unitsFulfilledInShopify} of {s.unitsShipped} units)
          </td>
          <td>
            <TrackingCell s={s} />
          </td>
          <td>{fmtTime(s.createdAt)}</td>
        </tr>
      ))}
    </Table>
  );
}

export function ShipmentsScreen() {
  const stores = usePoll(() => api.get<{ items: StoreView[] }>("/api/v1/stores"), [], 0);
  const [store, setStore] = useState("");
  const [status, setStatus] = useState("");
  const list = usePaged<ShipmentItem>(
    `/api/v1/shipments${qs({ store, status, limit: 50 })}`,
    (s) => `${s.store}-${s.id}`,
  );
  return (
    <>
      <h1>Shipments</h1>
      <div class="toolbar">
        <SelectField
          id="ship-store"
          label="Store"
          value={store}
          onChange={setStore}
          options={stores.data?.items.map((s) => s.domain) ?? []}
          any="All stores"
        />
        <SelectField
          id="ship-status"
          label="Status"
          value={status}
          onChange={setStatus}
          options={STATUSES}
          any="Any"
        />
      </div>
      <ErrorBox error={list.first.error ?? list.more.error} />
      <section class="panel" aria-label="Shipments found">
        <ShipmentsTable items={list.items} caption="Shipments, newest first" filtered={!!(store || status)} />
        <More next={list.next} onMore={() => void list.more.run()} busy={list.more.busy} />
      </section>
    </>
  );
}
