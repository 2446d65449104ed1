/** Stock of one SKU: per warehouse, per store location (expected and confirmed), and its movements. */
import { useState } from "preact/hooks";
import { api, qs } from "../../api.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { usePaged } from "../../hooksPaged.ts";
import { useSession } from "../../session.tsx";
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
    /** The store's own safety stock, already taken out of each location's sellable. */
    heldBack: number;
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

/** Safety stock of this SKU in one warehouse: held back from what Shopify may sell. */
function SafetyStockForm(props: {
  sku: string;
  warehouses: { warehouse: string; name: string; safetyStock: number }[];
  onSaved: () => void;
}) {
  const [warehouse, setWarehouse] = useState(props.warehouses[0]!.warehouse);
  const current = props.warehouses.find((w) => w.warehouse === warehouse)?.safetyStock ?? 0;
  const [value, setValue] = useState<string | null>(null);
  const save = useAction(async () => {
    await api.put("/api/v1/safety-stock", {
      items: [{ sku: props.sku, warehouse, safetyStock: Number(value ?? current) }],
    });
    setValue(null);
    props.onSaved();
  });
  const field = (f: string) => (save.error?.details.some((d) => d.path?.endsWith(f)) ? f : undefined);
  return (
    <form class="toolbar" aria-label="Set the safety stock" onSubmit={onSubmit(() => void save.run())}>
      <div class="field inline">
        <label for="ss-warehouse">Warehouse</label>
        <select id="ss-warehouse" value={warehouse} onChange={(e) => setWarehouse(e.currentTarget.value)}>
          {props.warehouses.map((w) => (
            <option key={w.warehouse} value={w.warehouse}>
              {w.name} ({w.warehouse})
            </option>
          ))}
        </select>
      </div>
      <div class="field inline">
        <label for="ss-quantity">Safety stock</label>
        <input
          id="ss-quantity"
          type="number"
          min={0}
          required
          aria-invalid={field("safetyStock") ? true : undefined}
          value={value ?? String(current)}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
      </div>
      <button type="submit" disabled={save.busy}>
        Save safety stock
      </button>
      <ErrorBox error={save.error} />
    </form>
  );
}

export function StockScreen() {
  const { can } = useSession();
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
            {can("stock.write") && d.warehouses.length > 0 && (
              <SafetyStockForm sku={d.sku} warehouses={d.warehouses} onSaved={() => void detail.reload()} />
            )}
          </Section>
          <Section title="In the stores" id="stock-stores">
            <Table
              caption={`${d.sku} at each store's managed locations`}
              headers={[
                "Store",
                "Location",
                "Warehouses",
                "Sellable to the store",
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
            {d.stores
              .filter((s) => s.heldBack > 0)
              .map((s) => (
                <p class="muted" key={s.store}>
                  {s.store} holds back {s.heldBack} of every SKU at each location (its safety stock, set on
                  the store's page): already taken out of "Sellable to the store".
                </p>
              ))}
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
