/** The store's settings on forms: validated by the hub, saved, and recorded in the audit trail. */
import { useEffect, useState } from "preact/hooks";
import { type ApiError, api, storePath } from "../../api.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { useSession } from "../../session.tsx";
import type { LocationView } from "../../types.ts";
import { described, ErrorBox, Field, Loading, onSubmit, Section } from "../../ui.tsx";
import { RETENTION_CHOICES, settingsBody } from "../wizard/LaterSteps.tsx";

interface OrderSettings {
  financialStatuses: string[];
  fulfillmentStatuses: ("unfulfilled" | "partial" | "fulfilled")[];
  locationGids: string[] | null;
  importWithoutLocation: boolean;
  lastDays: number;
  tag: string | null;
  defaultCustomerId: number | null;
  retentionDays: number | null;
  outboundUrl: string | null;
  outboundSecretSet: boolean;
}

const FULFILLMENT_FILTER = ["unfulfilled", "partial", "fulfilled"] as const;

export function OrderSettingsForm({ domain }: { domain: string }) {
  const { can } = useSession();
  const loaded = usePoll(() => api.get<OrderSettings>(storePath(domain, "/order-settings")), [domain], 0);
  const locations = usePoll(
    () => api.get<{ items: LocationView[] }>(storePath(domain, "/locations")),
    [domain],
    0,
  );
  const [form, setForm] = useState<OrderSettings | null>(null);
  const [financial, setFinancial] = useState("");
  const [secret, setSecret] = useState("");
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (loaded.data) {
      setForm(loaded.data);
      setFinancial(loaded.data.financialStatuses.join(", "));
    }
  }, [loaded.data]);
  const save = useAction(async () => {
    if (!form) return;
    setSaved(false);
    const body = {
      ...settingsBody(form as never),
      financialStatuses: financial
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
      ...(secret ? { outboundSecret: secret } : {}),
    };
    const next = await api.put<OrderSettings>(storePath(domain, "/order-settings"), body);
    setForm(next);
    setSecret("");
    setSaved(true);
  });
  const ro = !can("store.operate");
  if (!form)
    return (
      <Section title="Orders">
        {loaded.error ? <ErrorBox error={loaded.error} /> : <Loading what="order settings" />}
      </Section>
    );
  const e = save.error;
  return (
    <Section title="Orders" id="order-settings">
      <form onSubmit={onSubmit(() => void save.run())}>
        <fieldset disabled={ro}>
          <legend>Which orders are imported</legend>
          <Field
            label="Payment statuses"
            id="os-financial"
            field="financialStatuses"
            error={e}
            hint="Comma-separated Shopify financial statuses, e.g. paid, authorized."
          >
            <input
              {...described("os-financial", e, "financialStatuses", true)}
              value={financial}
              onInput={(ev) => setFinancial(ev.currentTarget.value)}
            />
          </Field>
          <fieldset class="field">
            <legend>Fulfillment statuses</legend>
            <div>
              {FULFILLMENT_FILTER.map((f) => (
                <label class="check" key={f}>
                  <input
                    type="checkbox"
                    checked={form.fulfillmentStatuses.includes(f)}
                    onChange={(ev) =>
                      setForm({
                        ...form,
                        fulfillmentStatuses: ev.currentTarget.checked
                          ? [...form.fulfillmentStatuses, f]
                          : form.fulfillmentStatuses.filter((x) => x !== f),
                      })
                    }
                  />{" "}
                  {f}
                </label>
              ))}
            </div>
          </fieldset>
          <fieldset class="field" id="os-locations">
            <legend>Shopify locations whose orders are imported</legend>
            <label class="check">
              <input
                type="checkbox"
                checked={form.locationGids === null}
                onChange={(ev) =>
                  setForm({
                    ...form,
                    locationGids: ev.currentTarget.checked
                      ? null
                      : (locations.data?.items ?? []).map((l) => l.locationId),
                  })
                }
              />{" "}
              Every location
            </label>
            {form.locationGids !== null &&
              (locations.data?.items ?? []).map((l) => (
                <label class="check" key={l.locationId}>
                  <input
                    type="checkbox"
                    checked={form.locationGids?.includes(l.locationId) ?? false}
                    onChange={(ev) =>
                      setForm({
                        ...form,
                        locationGids: ev.currentTarget.checked
                          ? [...(form.locationGids ?? []), l.locationId]
                          : (form.locationGids ?? []).filter((g) => g !== l.locationId),
                      })
                    }
                  />{" "}
                  {l.name}
                </label>
              ))}
            {form.locationGids?.length === 0 && (
              <small class="hint">
                No location chosen: only orders without a location are imported (if allowed below).
              </small>
            )}
            {e?.forField("locationGids") && (
              <small class="field-error" role="alert">
                {e.forField("locationGids")!.code}: {e.forField("locationGids")!.message}
              </small>
            )}
          </fieldset>
          <label class="check">
            <input
              type="checkbox"
              checked={form.importWithoutLocation}
              onChange={(ev) => setForm({ ...form, importWithoutLocation: ev.currentTarget.checked })}
            />{" "}
            Import orders without a location (they reserve at the default location)
          </label>
          <Field
            label="Backfill window (days)"
            id="os-last-days"
            field="lastDays"
            error={e}
            hint="Orders updated longer ago are not imported; also how far the first import looks back (1–365)."
          >
            <input
              {...described("os-last-days", e, "lastDays", true)}
              type="number"
              min={1}
              max={365}
              required
              value={form.lastDays}
              onInput={(ev) => setForm({ ...form, lastDays: Number(ev.currentTarget.value) })}
            />
          </Field>
          <Field
            label="Tag added in Shopify after import"
            id="os-tag"
            field="tag"
            error={e}
            hint="Empty: no tag."
          >
            <input
              {...described("os-tag", e, "tag", true)}
              value={form.tag ?? ""}
              onInput={(ev) => setForm({ ...form, tag: ev.currentTarget.value || null })}
            />
          </Field>
          <Field label="Keep customers' personal data for" id="os-retention" field="retentionDays" error={e}>
            <select
              {...described("os-retention", e, "retentionDays")}
              value={form.retentionDays === null ? "" : String(form.retentionDays)}
              onChange={(ev) =>
                setForm({
                  ...form,
                  retentionDays: ev.currentTarget.value === "" ? null : Number(ev.currentTarget.value),
                })
              }
            >
              {!RETENTION_CHOICES.some((c) => c.value === String(form.retentionDays ?? "")) && (
                <option value={String(form.retentionDays)}>{form.retentionDays} days</option>
              )}
              {RETENTION_CHOICES.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label}
                </option>
              ))}
            </select>
          </Field>
        </fieldset>
        <fieldset disabled={ro || !can("admin")}>
          <legend>Order notifications to the back office{can("admin") ? "" : " (admins only)"}</legend>
          <Field label="Outbound address (https)" id="os-outbound-url" field="outboundUrl" error={e}>
            <input
              {...described("os-outbound-url", e, "outboundUrl")}
              type="url"
              value={form.outboundUrl ?? ""}
              onInput={(ev) => setForm({ ...form, outboundUrl: ev.currentTarget.value || null })}
            />
          </Field>
          <Field
            label={`Signing secret${form.outboundSecretSet ? " (set; type to replace)" : ""}`}
            id="os-outbound-secret"
            field="outboundSecret"
            error={e}
          >
            <input
              {...described("os-outbound-secret", e, "outboundSecret")}
              type="password"
              autoComplete="off"
              value={secret}
              onInput={(ev) => setSecret(ev.currentTarget.value)}
            />
          </Field>
        </fieldset>
        <FormActions error={e} readOnly={ro} disabled={save.busy} saved={saved} label="Save order settings" />
      </form>
    </Section>
  );
}

interface FulfillmentSettings {
  notifyCustomer: boolean;
  restockRule: "none" | "order_warehouse" | "returns_warehouse";
  returnsWarehouse: string | null;
  shopifyFulfillments: "record_in_ledger" | "back_office";
}

export function FulfillmentSettingsForm({ domain }: { domain: string }) {
  const { can } = useSession();
  const loaded = usePoll(
    () => api.get<FulfillmentSettings>(storePath(domain, "/fulfillment-settings")),
    [domain],
    0,
  );
  const warehouses = usePoll(
    () => api.get<{ items: { code: string; name: string }[] }>("/api/v1/warehouses"),
    [],
    0,
  );
  const [form, setForm] = useState<FulfillmentSettings | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (loaded.data) setForm(loaded.data);
  }, [loaded.data]);
  const save = useAction(async () => {
    setSaved(false);
    setForm(await api.put<FulfillmentSettings>(storePath(domain, "/fulfillment-settings"), form));
    setSaved(true);
  });
  const ro = !can("store.operate");
  if (!form)
    return (
      <Section title="Shipments and returns">
        {loaded.error ? <ErrorBox error={loaded.error} /> : <Loading what="fulfillment settings" />}
      </Section>
    );
  const e = save.error;
  return (
    <Section title="Shipments and returns" id="fulfillment-settings">
      <form onSubmit={onSubmit(() => void save.run())}>
        <fieldset disabled={ro}>
          <legend>Fulfillment rules</legend>
          <label class="check">
            <input
              type="checkbox"
              checked={form.notifyCustomer}
              onChange={(ev) => setForm({ ...form, notifyCustomer: ev.currentTarget.checked })}
            />{" "}
            Shopify emails the customer when a shipment is sent
          </label>
          <Field
            label="Fulfillments made in Shopify (admin, POS, apps)"
            id="fs-shopify"
            field="shopifyFulfillments"
            error={e}
          >
            <select
              {...described("fs-shopify", e, "shopifyFulfillments")}
              value={form.shopifyFulfillments}
              onChange={(ev) =>
                setForm({
                  ...form,
                  shopifyFulfillments: ev.currentTarget.value as FulfillmentSettings["shopifyFulfillments"],
                })
              }
            >
              <option value="record_in_ledger">Record them as sales in the hub</option>
              <option value="back_office">Leave them to the back office</option>
            </select>
          </Field>
          <Field label="Restock rule for refunds" id="fs-restock" field="restockRule" error={e}>
            <select
              {...described("fs-restock", e, "restockRule")}
              value={form.restockRule}
              onChange={(ev) =>
                setForm({
                  ...form,
                  restockRule: ev.currentTarget.value as FulfillmentSettings["restockRule"],
                })
              }
            >
              <option value="none">Do not restock (goods need inspection)</option>
              <option value="order_warehouse">Restock into the order's warehouse</option>
              <option value="returns_warehouse">Restock into a returns warehouse</option>
            </select>
          </Field>
          {form.restockRule === "returns_warehouse" && (
            <Field label="Returns warehouse" id="fs-returns" field="returnsWarehouse" error={e}>
              <select
                {...described("fs-returns", e, "returnsWarehouse")}
                value={form.returnsWarehouse ?? ""}
                onChange={(ev) => setForm({ ...form, returnsWarehouse: ev.currentTarget.value || null })}
              >
                <option value="">— choose —</option>
                {warehouses.data?.items.map((w) => (
                  <option key={w.code} value={w.code}>
                    {w.name} ({w.code})
                  </option>
                ))}
              </select>
            </Field>
          )}
        </fieldset>
        <FormActions error={e} readOnly={ro} disabled={save.busy} saved={saved} label="Save shipment rules" />
      </form>
    </Section>
  );
}

export function InventoryModeForm({
  domain,
  mode,
  onSaved,
}: {
  domain: string;
  mode: "delta" | "absolute";
  onSaved: () => void;
}) {
  const { can } = useSession();
  const [chosen, setChosen] = useState<"delta" | "absolute" | null>(null);
  const [saved, setSaved] = useState(false);
  const value = chosen ?? mode;
  const save = useAction(async () => {
    setSaved(false);
    await api.put(storePath(domain, "/inventory-mode"), { mode: value });
    setChosen(null);
    setSaved(true);
    onSaved();
  });
  const ro = !can("store.operate");
  return (
    <Section title="Stock" id="inventory-mode">
      <form onSubmit={onSubmit(() => void save.run())}>
        <fieldset disabled={ro}>
          <legend>How the hub updates Shopify's stock</legend>
          <label class="check">
            <input
              type="radio"
              name="inventory-mode"
              checked={value === "delta"}
              onChange={() => setChosen("delta")}
            />{" "}
            <strong>Delta</strong>: only the hub's own changes are sent; counts made in Shopify are kept.
          </label>
          <label class="check">
            <input
              type="radio"
              name="inventory-mode"
              checked={value === "absolute"}
              onChange={() => setChosen("absolute")}
            />{" "}
            <strong>Absolute</strong>: Shopify's quantity is overwritten with the hub's at every change.
          </label>
        </fieldset>
        <FormActions
          error={save.error}
          showFieldErrors
          readOnly={ro}
          disabled={save.busy || value === mode}
          saved={saved}
          label="Save mode"
        />
      </form>
    </Section>
  );
}

/** The store's own safety stock: units of every SKU held back from each of its locations. */
export function StoreSafetyStockForm({ domain }: { domain: string }) {
  const { can } = useSession();
  const loaded = usePoll(
    () => api.get<{ safetyStock: number }>(storePath(domain, "/stock-rules")),
    [domain],
    0,
  );
  const [value, setValue] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    setSaved(false);
    const text = (value ?? "").trim();
    // Sent as typed when it is not a whole number, so the hub names the problem beside the field.
    const n = /^\d+$/.test(text) ? Number(text) : text;
    await api.put(storePath(domain, "/stock-rules"), { safetyStock: n });
    setValue(null);
    setSaved(true);
    await loaded.reload();
  });
  const ro = !can("store.operate");
  if (!loaded.data)
    return (
      <Section title="Safety stock for this store">
        {loaded.error ? <ErrorBox error={loaded.error} /> : <Loading what="safety stock" />}
      </Section>
    );
  const current = value ?? String(loaded.data.safetyStock);
  const e = save.error;
  return (
    <Section title="Safety stock for this store" id="store-safety-stock">
      <form onSubmit={onSubmit(() => void save.run())}>
        <fieldset disabled={ro}>
          <legend>Held back from Shopify</legend>
          <Field
            label="Units held back per SKU and location"
            id="ss-store"
            field="safetyStock"
            error={e}
            hint="Shopify shows this many fewer of every SKU at each of the store's locations (0: none). Adds to each warehouse's own safety stock, set per SKU on the Stock screen."
          >
            <input
              {...described("ss-store", e, "safetyStock", true)}
              inputMode="numeric"
              value={current}
              onInput={(ev) => setValue(ev.currentTarget.value)}
            />
          </Field>
        </fieldset>
        <FormActions
          error={e}
          readOnly={ro}
          disabled={save.busy || current === String(loaded.data.safetyStock)}
          saved={saved}
          label="Save store safety stock"
        />
      </form>
    </Section>
  );
}

/**
 * The end of a settings form: the error (unless it names a field, which shows it beside
 * itself), the save button for those who may change things, and "Saved." once it is.
 */
function FormActions(props: {
  error: ApiError | null | undefined;
  /** Shows errors that name a field here too (forms without per-field messages). */
  showFieldErrors?: boolean;
  readOnly: boolean;
  disabled: boolean;
  saved: boolean;
  label: string;
}) {
  const error = !props.showFieldErrors && props.error?.details.some((d) => d.path) ? null : props.error;
  return (
    <>
      <ErrorBox error={error} />
      {!props.readOnly && (
        <div class="actions">
          <button type="submit" disabled={props.disabled}>
            {props.label}
          </button>
          {props.saved && (
            <span class="notice" role="status">
              Saved.
            </span>
          )}
        </div>
      )}
    </>
  );
}
