/**
 * The back office's codes for what Shopify's orders carry: payment gateways, shipping lines
 * (carrier and service), tax lines (tax code per title, rate and place), sales channels and POS
 * locations. Once a category is set, an order with a value it does not map is parked, naming the
 * value; saving re-applies the store's parked orders. The hub checks every rule and names the
 * field it refuses (`shippingLines[1].carrier`), shown under that field with its code.
 */
import { useEffect, useState } from "preact/hooks";
import { type ApiError, api, storePath } from "../../api.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { useSession } from "../../session.tsx";
import type { LocationView } from "../../types.ts";
import { ErrorBox, Loading, onSubmit, Section, Table } from "../../ui.tsx";

interface ShippingRule {
  code?: string;
  title?: string;
  carrierIdentifier?: string;
  carrier: string;
  service: string;
}
interface TaxRule {
  title: string;
  rate: string;
  country: string | null;
  province: string | null;
  taxCode: string;
}
interface Mappings {
  paymentGateways: Record<string, string> | null;
  shippingLines: ShippingRule[] | null;
  taxLines: TaxRule[] | null;
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

/** Every field of a shipping or tax rule as the form holds it (strings; empty = not set). */
type ShipRow = Record<"code" | "title" | "carrierIdentifier" | "carrier" | "service", string>;
type TaxRow = Record<"title" | "rate" | "country" | "province" | "taxCode", string>;
const EMPTY_SHIP: ShipRow = { code: "", title: "", carrierIdentifier: "", carrier: "", service: "" };
const EMPTY_TAX: TaxRow = { title: "", rate: "", country: "", province: "", taxCode: "" };
const blank = (r: Record<string, string>) => Object.values(r).every((v) => !v.trim());
const opt = (v: string) => (v.trim() ? v.trim() : undefined);

const shipRows = (m: Mappings): ShipRow[] =>
  (m.shippingLines ?? []).map((s) => ({
    code: s.code ?? "",
    title: s.title ?? "",
    carrierIdentifier: s.carrierIdentifier ?? "",
    carrier: s.carrier,
    service: s.service,
  }));
const taxRows = (m: Mappings): TaxRow[] =>
  (m.taxLines ?? []).map((t) => ({
    title: t.title,
    rate: t.rate,
    country: t.country ?? "",
    province: t.province ?? "",
    taxCode: t.taxCode,
  }));

/** Rows left wholly empty are dropped; the rest go as typed, so the hub names what is missing. */
const shippingOf = (rows: ShipRow[]): ShippingRule[] | null => {
  const kept = rows.filter((r) => !blank(r));
  return kept.length
    ? kept.map((r) => ({
        ...(opt(r.code) ? { code: opt(r.code) } : {}),
        ...(opt(r.title) ? { title: opt(r.title) } : {}),
        ...(opt(r.carrierIdentifier) ? { carrierIdentifier: opt(r.carrierIdentifier) } : {}),
        carrier: r.carrier.trim(),
        service: r.service.trim(),
      }))
    : null;
};
const taxOf = (rows: TaxRow[]): TaxRule[] | null => {
  const kept = rows.filter((r) => !blank(r));
  return kept.length
    ? kept.map((r) => ({
        title: r.title.trim(),
        rate: r.rate.trim(),
        country: opt(r.country)?.toUpperCase() ?? null,
        province: opt(r.province) ?? null,
        taxCode: r.taxCode.trim(),
      }))
    : null;
};

/** The hub's complaint about exactly this path (a rule's field, or the rule as a whole). */
const detailAt = (error: ApiError | null, path: string) => error?.details.find((d) => d.path === path);

/** A table cell's input, labelled for screen readers, with the hub's error about it underneath. */
function CellInput(props: {
  id: string;
  label: string;
  path: string;
  value: string;
  error: ApiError | null;
  placeholder?: string;
  onInput: (value: string) => void;
}) {
  const d = detailAt(props.error, props.path);
  return (
    <div class={d ? "invalid" : undefined}>
      <input
        id={props.id}
        aria-label={props.label}
        aria-invalid={d ? true : undefined}
        aria-describedby={d ? `${props.id}-error` : undefined}
        placeholder={props.placeholder}
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
      {d && (
        <small class="field-error" role="alert" id={`${props.id}-error`}>
          {d.code}: {d.message}
        </small>
      )}
    </div>
  );
}

/** An editable list of rules: one row each, an empty row to add one, a button to remove one. */
function RuleRows<R extends Record<string, string>>(props: {
  rows: R[];
  empty: R;
  columns: readonly { field: keyof R & string; header: string; placeholder?: string }[];
  category: "shippingLines" | "taxLines";
  noun: string;
  error: ApiError | null;
  readOnly: boolean;
  onChange: (rows: R[]) => void;
}) {
  const { rows, columns, category, noun, error } = props;
  // An empty last row is always there, so typing into it adds a rule.
  const shown =
    !props.readOnly && (rows.length === 0 || !blank(rows.at(-1)!)) ? [...rows, props.empty] : rows;
  const set = (i: number, field: keyof R & string, value: string) => {
    const next = shown.map((r, j) => (j === i ? { ...r, [field]: value } : r));
    props.onChange(next);
  };
  return (
    <Table
      caption={`${noun} rules, first match wins`}
      headers={[...columns.map((c) => c.header), ...(props.readOnly ? [] : ["Remove"])]}
      count={shown.length}
      empty={`No ${noun.toLowerCase()} rules: ${noun.toLowerCase()} lines are not mapped.`}
      id={`${category}-table`}
    >
      {shown.map((r, i) => {
        const ruleError = detailAt(error, `${category}[${i}]`);
        return (
          <tr key={i} data-rule={i + 1}>
            {columns.map((c, k) => (
              <td key={c.field}>
                <CellInput
                  id={`${category}-${i}-${c.field}`}
                  label={`${noun} rule ${i + 1}: ${c.header}`}
                  path={`${category}[${i}].${c.field}`}
                  value={r[c.field] ?? ""}
                  placeholder={c.placeholder}
                  error={error}
                  onInput={(v) => set(i, c.field, v)}
                />
                {k === 0 && ruleError && (
                  <small class="field-error" role="alert" id={`${category}-${i}-error`}>
                    {ruleError.code}: {ruleError.message}
                  </small>
                )}
              </td>
            ))}
            {!props.readOnly && (
              <td>
                {!blank(r) && (
                  <button
                    type="button"
                    class="secondary"
                    aria-label={`Remove ${noun.toLowerCase()} rule ${i + 1}`}
                    onClick={() => props.onChange(shown.filter((_, j) => j !== i))}
                  >
                    Remove
                  </button>
                )}
              </td>
            )}
          </tr>
        );
      })}
    </Table>
  );
}

const SHIPPING_COLUMNS = [
  { field: "code", header: "Shopify shipping code", placeholder: "e.g. EXPRESS" },
  { field: "title", header: "Shipping title", placeholder: "e.g. Express delivery" },
  { field: "carrierIdentifier", header: "Carrier service id" },
  { field: "carrier", header: "Back-office carrier", placeholder: "e.g. DHL" },
  { field: "service", header: "Back-office service", placeholder: "e.g. EXP" },
] as const;
const TAX_COLUMNS = [
  { field: "title", header: "Tax title", placeholder: "e.g. VAT" },
  { field: "rate", header: "Rate (fraction)", placeholder: "e.g. 0.21" },
  { field: "country", header: "Country (empty: any)", placeholder: "e.g. NL" },
  { field: "province", header: "Province (empty: any)" },
  { field: "taxCode", header: "Back-office tax code", placeholder: "e.g. V21" },
] as const;

export function OrderMappingsForm({ domain }: { domain: string }) {
  const { can } = useSession();
  const loaded = usePoll(() => api.get<Mappings>(storePath(domain, "/order-mappings")), [domain], 0);
  const locations = usePoll(
    () => api.get<{ items: LocationView[] }>(storePath(domain, "/locations")),
    [domain],
    0,
  );
  const [gateways, setGateways] = useState<Row[]>([]);
  const [shipping, setShipping] = useState<ShipRow[]>([]);
  const [tax, setTax] = useState<TaxRow[]>([]);
  const [sources, setSources] = useState<Record<string, string>>({});
  const [pos, setPos] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState<string | null>(null);
  useEffect(() => {
    if (!loaded.data) return;
    setGateways([...rowsOf(loaded.data.paymentGateways), { key: "", code: "" }]);
    setShipping(shipRows(loaded.data));
    setTax(taxRows(loaded.data));
    setSources({ ...(loaded.data.sources ?? {}) } as Record<string, string>);
    setPos({ ...(loaded.data.posLocations ?? {}) });
  }, [loaded.data]);
  const save = useAction(async () => {
    setSaved(null);
    const src = Object.fromEntries(Object.entries(sources).filter(([, v]) => v.trim()));
    const posKept = Object.fromEntries(Object.entries(pos).filter(([, v]) => v.trim()));
    const r = await api.put<{ reprocessed: unknown[] }>(storePath(domain, "/order-mappings"), {
      paymentGateways: recordOf(gateways),
      shippingLines: shippingOf(shipping),
      taxLines: taxOf(tax),
      sources: Object.keys(src).length ? src : null,
      posLocations: Object.keys(posKept).length ? posKept : null,
    });
    const n = r.reprocessed.length;
    setSaved(`Saved; ${n} parked order${n === 1 ? "" : "s"} re-applied.`);
    await loaded.reload();
  });
  const ro = !can("store.operate");
  if (!loaded.data)
    return (
      <Section title="Back-office codes">
        {loaded.error ? <ErrorBox error={loaded.error} /> : <Loading what="order mappings" />}
      </Section>
    );
  const e = save.error;
  return (
    <Section title="Back-office codes" id="order-mappings">
      <p class="muted">
        Codes the back office expects for what Shopify's orders carry. A list left empty is not mapped (no
        codes in the order feed). Once a list has entries, an order with a value it does not list is parked
        until the value is added here; saving re-applies parked orders.
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
                    placeholder="e.g. shopify_payments"
                    value={g.key}
                    onInput={(ev) => {
                      const next = gateways.map((x, j) =>
                        j === i ? { ...x, key: ev.currentTarget.value } : x,
                      );
                      setGateways(
                        i === gateways.length - 1 && ev.currentTarget.value
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
                    onInput={(ev) =>
                      setGateways(
                        gateways.map((x, j) => (j === i ? { ...x, code: ev.currentTarget.value } : x)),
                      )
                    }
                  />
                </td>
              </tr>
            ))}
          </Table>
        </fieldset>
        <fieldset disabled={ro}>
          <legend>Shipping lines → carrier and service</legend>
          <p class="hint">
            Each rule matches the shipping lines whose code, title and carrier service id equal the ones given
            (give at least one); the first matching rule wins.
          </p>
          <RuleRows
            rows={shipping}
            empty={EMPTY_SHIP}
            columns={SHIPPING_COLUMNS}
            category="shippingLines"
            noun="Shipping"
            error={e}
            readOnly={ro}
            onChange={setShipping}
          />
        </fieldset>
        <fieldset disabled={ro}>
          <legend>Tax lines → tax codes</legend>
          <p class="hint">
            A tax line matches by its title and rate (21 % is 0.21) at the order's shipping address, else its
            billing address; a rule for a province wins over one for its country, which wins over one for any
            place.
          </p>
          <RuleRows
            rows={tax}
            empty={EMPTY_TAX}
            columns={TAX_COLUMNS}
            category="taxLines"
            noun="Tax"
            error={e}
            readOnly={ro}
            onChange={setTax}
          />
        </fieldset>
        <fieldset disabled={ro}>
          <legend>Sales channels</legend>
          {SOURCES.map(([k, label]) => (
            <div class="field" key={k}>
              <label for={`src-${k}`}>{label}</label>
              <input
                id={`src-${k}`}
                value={sources[k] ?? ""}
                onInput={(ev) => setSources({ ...sources, [k]: ev.currentTarget.value })}
              />
            </div>
          ))}
        </fieldset>
        <fieldset disabled={ro}>
          <legend>Branches for point-of-sale locations</legend>
          {(locations.data?.items ?? []).length === 0 && (
            <p class="muted">No Shopify locations yet: they are listed once the store is connected.</p>
          )}
          {(locations.data?.items ?? []).map((l) => (
            <div class="field" key={l.locationId}>
              <label for={`pos-${l.locationId}`}>{l.name}</label>
              <input
                id={`pos-${l.locationId}`}
                value={pos[l.locationId] ?? ""}
                onInput={(ev) => setPos({ ...pos, [l.locationId]: ev.currentTarget.value })}
              />
            </div>
          ))}
        </fieldset>
        <ErrorBox error={e} placed={(path) => /^(shippingLines|taxLines)\[\d+\]/.test(path)} />
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
