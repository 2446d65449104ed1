/** Stock of one SKU: per warehouse, per store location (expected and confirmed), and its movements. */
import { useState } from "preact/hooks";
import { api, qs } from "../../api.ts";
import { usePoll } from "../../hooks.ts";
import { usePaged } from "../../hooksPaged.ts";
import { described, ErrorBox, Field, fmtTime, More, onSubmit, Section, Table } from "../../ui.tsx";

interface StockDetail {
  sku: string;
  title: string | null;
  barcode: string | null;
  warehouses: {
    warehouse: string;
    name: string;
    onHand: number;
    reserved: number;
    safetyStock: number;
    sellable: number;
    updatedAt: number | null;
  }[];
  totals: { onHand: number; reserved: number; safetyStock: number; sellable: number };
  stores: {
    store: string;
    linked: boolean;
    locations: {
      locationId: string;
      name: string;
      warehouses: string[];
      sellable: number;
      committed: number;
      expectedOnHand: number;
      confirmedOnHand: number | null;
      confirmedAt: number | null;
      error: string | null;
    }[];
  }[];
}

interface Movement {
  entryId: number;
  id: string;
  type: string;
  sku: string;
  warehouse: string;
  kind: "delta" | "count";
  quantity: number;
  fromWarehouse: string | null;
  toWarehouse: string | null;
  occurredAt: number;
  recordedAt: number;
}

const initialSku = () => new URLSearchParams(window.location.hash.split("?")[1] ?? "").get("sku") ?? "";

export function StockScreen() {
  const [text, setText] = useState(initialSku());
  const [sku, setSku] = useState(initialSku());
  const detail = usePoll(
    async () => (sku ? api.get<StockDetail>(`/api/v1/stock/detail${qs({ sku })}`) : null),
    [sku],
    5000,
  );
  const moves = usePaged<Movement>(
    sku ? `/api/v1/movements${qs({ sku, limit: 50 })}` : null,
    (m) => m.entryId,
    5000,
  );
  const d = detail.data;
  return (
    <>
      <h1>Stock</h1>
      <form class="toolbar" aria-label="Look up a SKU" onSubmit={onSubmit(() => setSku(text.trim()))}>
        <Field label="SKU" id="stock-sku" field="sku" error={detail.error}>
          <input
            {...described("stock-sku", detail.error, "sku")}
            required
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </Field>
        <button type="submit">Show stock</button>
      </form>
      {!detail.error?.forField("sku") && <ErrorBox error={detail.error} />}
      {d && (
        <>
          <Section title={`${d.sku}${d.title ? ` · ${d.title}` : ""}`} id="stock-warehouses">
            <Table
              caption={`Stock of ${d.sku} per warehouse`}
              headers={["Warehouse", "On hand", "Reserved", "Safety stock", "Sellable", "Updated"]}
              count={d.warehouses.length}
              empty="No stock recorded for this SKU."
              id="stock-table"
            >
              {d.warehouses.map((w) => (
                <tr key={w.warehouse} data-warehouse={w.warehouse}>
                  <th scope="row">
                    {w.name} ({w.warehouse})
                  </th>
                  <td class="num">{w.onHand}</td>
                  <td class="num">{w.reserved}</td>
                  <td class="num">{w.safetyStock}</td>
                  <td class="num">{w.sellable}</td>
                  <td>{fmtTime(w.updatedAt)}</td>
                </tr>
              ))}
              {d.warehouses.length > 1 && (
                <tr class="total">
                  <th scope="row">All warehouses</th>
                  <td class="num">{d.totals.onHand}</td>
                  <td class="num">{d.totals.reserved}</td>
                  <td class="num">{d.totals.safetyStock}</td>
                  <td class="num">{d.totals.sellable}</td>
                  <td />
                </tr>
              )}
            </Table>
            <p class="muted">Sellable = on hand − reserved − safety stock (never below 0).</p>
          </Section>
          <Section title="In the stores" id="stock-stores">
            <Table
              caption={`${d.sku} at each store's managed locations`}
              headers={[
                "Store",
                "Location",
                "Warehouses",
                "Sellable",
                "Committed in Shopify",
                "Shopify should show on hand",
                "Shopify confirmed",
                "Problem",
              ]}
              count={d.stores.reduce((n, s) => n + Math.max(1, s.locations.length), 0)}
              empty="No store is connected."
            >
              {d.stores.flatMap((s) =>
                s.locations.length === 0
                  ? [
                      <tr key={s.store}>
                        <td>{s.store}</td>
                        <td colSpan={7} class="muted">
                          {s.linked
                            ? "No managed location."
                            : "Not linked to this store (see its link problems)."}
                        </td>
                      </tr>,
                    ]
                  : s.locations.map((l) => (
                      <tr key={`${s.store}-${l.locationId}`}>
                        <td>{s.store}</td>
                        <td>{l.name}</td>
                        <td>{l.warehouses.join(", ")}</td>
                        <td class="num">{l.sellable}</td>
                        <td class="num">{l.committed}</td>
                        <td class="num">{l.expectedOnHand}</td>
                        <td class="num">
                          {l.confirmedOnHand ?? "—"}{" "}
                          {l.confirmedAt && <span class="muted">({fmtTime(l.confirmedAt)})</span>}
                        </td>
                        <td class="reason">{l.error ?? ""}</td>
                      </tr>
                    )),
              )}
            </Table>
          </Section>
          <Section title="Movements" id="movements">
            <ErrorBox error={moves.first.error ?? moves.more.error} />
            <Table
              caption={`Movements of ${d.sku}, newest first`}
              headers={["Occurred", "Type", "Warehouse", "Quantity", "Movement id", "Recorded"]}
              count={moves.items.length}
              empty="No movement yet."
              id="movements-table"
            >
              {moves.items.map((m) => (
                <tr key={m.entryId}>
                  <td>{fmtTime(m.occurredAt)}</td>
                  <td>
                    {m.type}
                    {m.fromWarehouse ? ` from ${m.fromWarehouse}` : ""}
                    {m.toWarehouse ? ` to ${m.toWarehouse}` : ""}
                  </td>
                  <td>{m.warehouse}</td>
                  <td class="num">
                    {m.kind === "count"
                      ? `counted ${m.quantity}`
                      : m.quantity > 0
                        ? `+${m.quantity}`
                        : m.quantity}
                  </td>
                  <td class="mono">{m.id}</td>
                  <td>{fmtTime(m.recordedAt)}</td>
                </tr>
              ))}
            </Table>
            <More next={moves.next} onMore={() => void moves.more.run()} busy={moves.more.busy} />
          </Section>
        </>
      )}
    </>
  );
}
