/**
 * The back office's codes for what Shopify's orders carry: payment gateways, sales channels and
 * POS locations (shipping and tax line rules are listed; they are set through the API). Once a
 * category is set, an order with a value it does not map is parked, naming the value; saving
 * re-applies the store's parked orders.
 */
import { useEffect, useState } from "preact/hooks";
import { api, storePath } from "../../api.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { useSession } from "../../session.tsx";
import type { LocationView } from "../../types.ts";
import { ErrorBox, Loading, onSubmit, Section, Table } from "../../ui.tsx";

interface Mappings {
  paymentGateways: Record<string, string> | null;
  shippingLines: Record<string, string>[] | null;
  taxLines: Record<string, unknown>[] | null;
  sources: Partial<Record<"web" | "pos" | "draft" | "b2b" | "other", string>> | null;
  posLocations: Record<string, string> | null;
}

const SOURCES = [
  ["web", "Online store"],
  ["pos", "Point of sale"],
  ["draft", "Draft orders"],
  ["b2b", "B2B"],
  ["other", "Other channels"],
] as const;

type Row = { key: string; code: string };
const rowsOf = (r: Record<string, string> | null): Row[] =>
  Object.entries(r ?? {}).map(([key, code]) => ({ key, code }));
const recordOf = (rows: Row[]): Record<string, string> | null => {
  const kept = rows.filter((r) => r.key.trim() && r.code.trim());
  return kept.length ? Object.fromEntries(kept.map((r) => [r.key.trim(), r.code.trim()])) : null;
};

export function OrderMappingsForm({ domain }: { domain: string }) {
  const { can } = useSession();
  const loaded = usePoll(() => api.get<Mappings>(storePath(domain, "/order-mappings")), [domain], 0);
  const locations = usePoll(
    () => api.get<{ items: LocationView[] }>(storePath(domain, "/locations")),
    [domain],
    0,
  );
  const [gateways, setGateways] = useState<Row[]>([]);
  const [sources, setSources] = useState<Record<string, string>>({});
  const [pos, setPos] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState<string | null>(null);
  useEffect(() => {
    if (!loaded.data) return;
    setGateways([...rowsOf(loaded.data.paymentGateways), { key: "", code: "" }]);
    setSources({ ...(loaded.data.sources ?? {}) } as Record<string, string>);
    setPos({ ...(loaded.data.posLocations ?? {}) });
  }, [loaded.data]);
  const save = useAction(async () => {
    const src = Object.fromEntries(Object.entries(sources).filter(([, v]) => v.trim()));
    const posKept = Object.fromEntries(Object.entries(pos).filter(([, v]) => v.trim()));
    const r = await api.put<{ reprocessed: unknown[] }>(storePath(domain, "/order-mappings"), {
      paymentGateways: recordOf(gateways),
      shippingLines: loaded.data?.shippingLines ?? null,
      taxLines: loaded.data?.taxLines ?? null,
      sources: Object.keys(src).length ? src : null,
      posLocations: Object.keys(posKept).length ? posKept : null,
    });
    setSaved(`Saved; ${r.reprocessed.length} parked orders re-applied.`);
    await loaded.reload();
  });
  const ro = !can("store.operate");
  if (!loaded.data)
    return (
      <Section title="Back-office codes">
        {loaded.error ? <ErrorBox error={loaded.error} /> : <Loading what="order mappings" />}
      </Section>
    );
  const m = loaded.data;
  return (
    <Section title="Back-office codes" id="order-mappings">
      <p class="muted">
        Codes the back office expects for what Shopify's orders carry. Once a list has entries, an order with
        a value it does not list is parked until the value is added here.
      </p>
      <form onSubmit={onSubmit(() => void save.run())}>
        <fieldset disabled={ro}>
          <legend>Payment gateways</legend>
          <Table
            caption="Payment gateway codes"
            headers={["Shopify gateway", "Back-office code"]}
            count={gateways.length}
          >
            {gateways.map((g, i) => (
              <tr key={i}>
                <td>
                  <input
                    aria-label={`Shopify gateway ${i + 1}`}
                    placeholder="shopify_payments"
                    value={g.key}
                    onInput={(e) => {
                      const next = gateways.map((x, j) =>
                        j === i ? { ...x, key: e.currentTarget.value } : x,
                      );
                      setGateways(
                        i === gateways.length - 1 && e.currentTarget.value
                          ? [...next, { key: "", code: "" }]
                          : next,
                      );
                    }}
                  />
                </td>
                <td>
                  <input
                    aria-label={`Code for gateway ${g.key || i + 1}`}
                    value={g.code}
                    onInput={(e) =>
                      setGateways(
                        gateways.map((x, j) => (j === i ? { ...x, code: e.currentTarget.value } : x)),
                      )
                    }
                  />
                </td>
              </tr>
            ))}
          </Table>
        </fieldset>
        <fieldset disabled={ro}>
          <legend>Sales channels</legend>
          {SOURCES.map(([k, label]) => (
            <div class="field" key={k}>
              <label for={`src-${k}`}>{label}</label>
              <input
                id={`src-${k}`}
                value={sources[k] ?? ""}
                onInput={(e) => setSources({ ...sources, [k]: e.currentTarget.value })}
              />
            </div>
          ))}
        </fieldset>
        <fieldset disabled={ro}>
          <legend>Branches for point-of-sale locations</legend>
          {(locations.data?.items ?? []).map((l) => (
            <div class="field" key={l.locationId}>
              <label for={`pos-${l.locationId}`}>{l.name}</label>
              <input
                id={`pos-${l.locationId}`}
                value={pos[l.locationId] ?? ""}
                onInput={(e) => setPos({ ...pos, [l.locationId]: e.currentTarget.value })}
              />
            </div>
          ))}
        </fieldset>
        <p class="muted">
          Shipping line rules: {m.shippingLines?.length ?? 0}; tax line rules: {m.taxLines?.length ?? 0} (set
          with PUT /api/v1/stores/{domain}/order-mappings; kept as they are when saving here).
        </p>
        <ErrorBox error={save.error} />
        {!ro && (
          <div class="actions">
            <button type="submit" disabled={save.busy}>
              Save codes
            </button>
            {saved && (
              <span class="notice" role="status">
                {saved}
              </span>
            )}
          </div>
        )}
      </form>
    </Section>
  );
}
