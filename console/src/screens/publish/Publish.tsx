/**
 * Publishing the hub's catalog to a store: the store's rules (seed 001's mapping screen), a dry
 * run before enabling (per product: create, update field by field old → new, unchanged, refused
 * and why), and each product's publish state with Shopify's errors (product key and field).
 */
import { useEffect, useState } from "preact/hooks";
import { api, qs, storePath } from "../../api.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { PublishStateCells } from "../../parts/PublishStateCells.tsx";
import { useSession } from "../../session.tsx";
import type { StoreView } from "../../types.ts";
import {
  Badge,
  described,
  ErrorBox,
  Field,
  fmtTime,
  onSubmit,
  Section,
  SelectField,
  Table,
} from "../../ui.tsx";
import { PriceLists } from "../prices/PriceLists.tsx";

type Mode = "always" | "create_only" | "off";

interface Rules {
  titleTooLong?: "fail" | "truncate";
  titleTemplate?: string;
  fields?: Partial<Record<string, Mode>>;
  metafieldNamespace?: string | null;
  newProductStatus?: "draft" | "active";
  archivedStatus?: "draft" | "archived";
  ownsProductsEntirely?: boolean;
  categoryByProductType?: Record<string, string>;
  salesChannels?: string[];
}

interface Applied {
  titleTooLong: "fail" | "truncate";
  titleTemplate: string;
  fields: Record<string, Mode>;
  metafieldNamespace: string | null;
  newProductStatus: "draft" | "active";
  archivedStatus: "draft" | "archived";
  ownsProductsEntirely: boolean;
  categoryByProductType: Record<string, string>;
  salesChannels: string[];
}

interface DryRunRow {
  key: string;
  outcome: "create" | "update" | "unchanged" | "refused" | "failed";
  changes?: { field: string; old: unknown; new: unknown }[];
  code?: string;
  field?: string;
  message?: string;
}

interface StateRow {
  key: string;
  title: string;
  status: "pending" | "done" | "refused";
  error: { code?: string; field?: string | null; message?: string } | null;
  attempts: number;
  shopifyProductId: string | null;
  publishedAt: string | null;
}

type Price = { price: string; compareAtPrice: string | null };

interface PriceListDryRun {
  code: string;
  currency: string;
  outcome: "create" | "update" | "unchanged" | "refused";
  add: number;
  change: number;
  remove: number;
  unchanged: number;
  notInStore: number;
  changes: { sku: string; variantId: string; old: Price | null; new: Price | null }[];
  refusal?: { code: string; message: string };
}

interface Job {
  id: number;
  kind: string;
  status: string;
  result: {
    products: number;
    create: number;
    update: number;
    unchanged: number;
    refused: number;
    priceLists?: PriceListDryRun[];
  } | null;
  progress: { phase: string; done?: number; total?: number } | null;
}

const FIELDS: readonly [string, string][] = [
  ["title", "Title"],
  ["descriptionHtml", "Description"],
  ["vendor", "Vendor"],
  ["productType", "Product type"],
  ["tags", "Tags"],
  ["category", "Category"],
  ["seo", "SEO"],
  ["images", "Images"],
  ["metafields", "Metafields"],
  ["barcode", "Barcode"],
  ["weight", "Weight"],
  ["taxable", "Taxable"],
  ["price", "Price"],
  ["compareAtPrice", "Compare-at price"],
  ["cost", "Cost"],
];

const MODES: { value: Mode; label: string }[] = [
  { value: "always", label: "Always write" },
  { value: "create_only", label: "Write on create only" },
  { value: "off", label: "Never write" },
];

const show = (v: unknown) =>
  v === null || v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v);

function RulesForm({ domain, canEdit }: { domain: string; canEdit: boolean }) {
  const loaded = usePoll(
    () => api.get<{ rules: Rules; applied: Applied }>(storePath(domain, "/catalog-publish/settings")),
    [domain],
    0,
  );
  const [draft, setDraft] = useState<Applied | null>(null);
  const [saved, setSaved] = useState(false);
  // The channels as typed (a controlled list would swallow the comma being typed).
  const [channelsText, setChannelsText] = useState("");
  useEffect(() => {
    setDraft(loaded.data?.applied ?? null);
    setChannelsText(loaded.data?.applied.salesChannels.join(", ") ?? "");
  }, [loaded.data]);
  const save = useAction(async () => {
    if (!draft) return;
    const body: Rules = { ...draft, metafieldNamespace: draft.metafieldNamespace || null };
    await api.put(storePath(domain, "/catalog-publish/settings"), body);
    setSaved(true);
    await loaded.reload();
  });
  if (!draft) return <ErrorBox error={loaded.error} />;
  const set = (patch: Partial<Applied>) => {
    setSaved(false);
    setDraft({ ...draft, ...patch });
  };
  const err = save.error;
  return (
    <form onSubmit={onSubmit(() => void save.run())} aria-label="Publish rules">
      <fieldset disabled={!canEdit}>
        <legend class="sr-only">Publish rules</legend>
        <Field label="A title over 255 characters" id="pub-title-rule" field="titleTooLong" error={err}>
          <select
            {...described("pub-title-rule", err, "titleTooLong")}
            value={draft.titleTooLong}
            onChange={(e) => set({ titleTooLong: e.currentTarget.value as Applied["titleTooLong"] })}
          >
            <option value="fail">Refuse the product</option>
            <option value="truncate">Cut it at 255 characters</option>
          </select>
        </Field>
        <Field
          label="Title in Shopify"
          id="pub-title-template"
          field="titleTemplate"
          error={err}
          hint="From {title}, {vendor}, {productType} and {key}."
        >
          <input
            {...described("pub-title-template", err, "titleTemplate", true)}
            value={draft.titleTemplate}
            onInput={(e) => set({ titleTemplate: e.currentTarget.value })}
          />
        </Field>
        <Field label="Status of new products" id="pub-new-status" field="newProductStatus" error={err}>
          <select
            {...described("pub-new-status", err, "newProductStatus")}
            value={draft.newProductStatus}
            onChange={(e) => set({ newProductStatus: e.currentTarget.value as Applied["newProductStatus"] })}
          >
            <option value="draft">Draft</option>
            <option value="active">Active</option>
          </select>
        </Field>
        <Field label="An archived hub product becomes" id="pub-archived" field="archivedStatus" error={err}>
          <select
            {...described("pub-archived", err, "archivedStatus")}
            value={draft.archivedStatus}
            onChange={(e) => set({ archivedStatus: e.currentTarget.value as Applied["archivedStatus"] })}
          >
            <option value="archived">Archived (never deleted)</option>
            <option value="draft">Draft</option>
          </select>
        </Field>
        <Field
          label="Metafield namespace for attributes"
          id="pub-namespace"
          field="metafieldNamespace"
          error={err}
          hint="Empty: each attribute keeps its own namespace."
        >
          <input
            {...described("pub-namespace", err, "metafieldNamespace", true)}
            value={draft.metafieldNamespace ?? ""}
            onInput={(e) => set({ metafieldNamespace: e.currentTarget.value })}
          />
        </Field>
        <Field
          label="Sales channels to publish to"
          id="pub-channels"
          field="salesChannels"
          error={err}
          hint="Comma-separated, as the store names them (Online Store, Point of Sale); empty: left to the merchant."
        >
          <input
            {...described("pub-channels", err, "salesChannels", true)}
            value={channelsText}
            onInput={(e) => {
              setChannelsText(e.currentTarget.value);
              set({
                salesChannels: e.currentTarget.value
                  .split(",")
                  .map((c) => c.trim())
                  .filter(Boolean),
              });
            }}
          />
        </Field>
        <label class="check">
          <input
            type="checkbox"
            name="owns-entirely"
            checked={draft.ownsProductsEntirely}
            onChange={(e) => set({ ownsProductsEntirely: e.currentTarget.checked })}
          />{" "}
          The hub owns this store's products entirely (variants, images and metafields added in Shopify are
          deleted)
        </label>
        <fieldset class="choice">
          <legend>What the hub writes, field by field</legend>
          {FIELDS.map(([f, label]) => (
            <Field key={f} label={label} id={`pub-field-${f}`} field={`fields.${f}`} error={err}>
              <select
                {...described(`pub-field-${f}`, err, `fields.${f}`)}
                value={draft.fields[f] ?? "always"}
                onChange={(e) => set({ fields: { ...draft.fields, [f]: e.currentTarget.value as Mode } })}
              >
                {MODES.map((m) => (
                  <option key={m.value} value={m.value}>
                    {m.label}
                  </option>
                ))}
              </select>
            </Field>
          ))}
        </fieldset>
      </fieldset>
      <ErrorBox
        error={err}
        placed={(p) =>
          /^(titleTooLong|titleTemplate|newProductStatus|archivedStatus|metafieldNamespace|fields)/.test(p)
        }
      />
      {canEdit && (
        <div class="actions">
          <button type="submit" disabled={save.busy}>
            Save the rules
          </button>
          {saved && <span role="status">Saved.</span>}
        </div>
      )}
    </form>
  );
}

const money = (p: Price | null) =>
  p === null ? "—" : p.compareAtPrice === null ? p.price : `${p.price} (compare at ${p.compareAtPrice})`;

/** Per price group, what the dry run found its price list would get. */
function PriceListsDryRun({ groups }: { groups: PriceListDryRun[] }) {
  return (
    <Table
      caption="What publishing would do to the price lists"
      headers={["Price group", "Outcome", "Prices", "Changes"]}
      count={groups.length}
      id="pub-dry-price-lists"
      empty="No price groups."
    >
      {groups.map((g) => (
        <tr key={g.code} data-code={g.code} data-outcome={g.outcome}>
          <td>
            {g.code}
            <div class="muted">{g.currency}</div>
          </td>
          <td>
            <Badge value={g.outcome} />
          </td>
          <td>
            {g.refusal ? (
              <span>
                <strong>{g.refusal.code}</strong>: {g.refusal.message}
              </span>
            ) : (
              `${g.add} to set, ${g.change} to change, ${g.remove} to remove, ${g.unchanged} unchanged; ${g.notInStore} not sent (product not in the store)`
            )}
          </td>
          <td>
            {g.changes.length > 0 && (
              <ul>
                {g.changes.map((c) => (
                  <li key={c.variantId}>
                    {c.sku || c.variantId}: {money(c.old)} → {money(c.new)}
                  </li>
                ))}
              </ul>
            )}
            {g.add + g.change + g.remove > g.changes.length && (
              <div class="muted">and {g.add + g.change + g.remove - g.changes.length} more</div>
            )}
          </td>
        </tr>
      ))}
    </Table>
  );
}

function DryRun({ domain, canRun }: { domain: string; canRun: boolean }) {
  const jobs = usePoll(() => api.get<{ items: Job[] }>(storePath(domain, "/jobs")), [domain], 2000);
  const last = jobs.data?.items.find((j) => j.kind === "catalog_publish_dry_run");
  const [outcome, setOutcome] = useState("");
  const rows = usePoll(
    () =>
      last && last.status === "done"
        ? api.get<{ items: DryRunRow[] }>(
            storePath(domain, `/catalog-publish/dry-run/${last.id}${qs({ outcome, limit: 200 })}`),
          )
        : Promise.resolve({ items: [] as DryRunRow[] }),
    [domain, last?.id, last?.status, outcome],
    0,
  );
  const start = useAction(async () => {
    await api.post(storePath(domain, "/catalog-publish/dry-run?waitSeconds=1"), {});
    await jobs.reload();
  });
  const items = rows.data?.items ?? [];
  return (
    <>
      <div class="toolbar">
        {canRun && (
          <button type="button" onClick={() => void start.run()} disabled={start.busy}>
            Run a dry run
          </button>
        )}
        <SelectField
          id="pub-outcome"
          label="Show"
          value={outcome}
          onChange={setOutcome}
          any="every product"
          options={["create", "update", "unchanged", "refused", "failed"]}
        />
      </div>
      <ErrorBox error={start.error ?? jobs.error ?? rows.error} />
      {last && (
        <p id="pub-dry-summary" aria-live="polite">
          Dry run {last.id}: <Badge value={last.status} />{" "}
          {last.result
            ? `${last.result.products} products: ${last.result.create} to create, ${last.result.update} to update, ${last.result.unchanged} unchanged, ${last.result.refused} refused.`
            : (last.progress?.phase ?? "")}
        </p>
      )}
      <Table
        caption="What publishing would do"
        headers={["Product", "Outcome", "Details"]}
        count={items.length}
        id="pub-dry-rows"
        empty="No dry run rows yet."
      >
        {items.map((r) => (
          <tr key={r.key} data-key={r.key} data-outcome={r.outcome}>
            <td>{r.key}</td>
            <td>
              <Badge value={r.outcome} />
            </td>
            <td>
              {r.outcome === "refused" && (
                <span>
                  <strong>{r.code}</strong> ({r.field}): {r.message}
                </span>
              )}
              {r.changes && r.changes.length > 0 && (
                <ul>
                  {r.changes.map((c) => (
                    <li key={c.field}>
                      {c.field}: {show(c.old)} → {show(c.new)}
                    </li>
                  ))}
                </ul>
              )}
            </td>
          </tr>
        ))}
      </Table>
      {last?.result?.priceLists && <PriceListsDryRun groups={last.result.priceLists} />}
    </>
  );
}

function States({ domain, canRetry }: { domain: string; canRetry: boolean }) {
  const [status, setStatus] = useState("");
  const states = usePoll(
    () =>
      api.get<{ items: StateRow[] }>(
        storePath(domain, `/catalog-publish/products${qs({ status, limit: 200 })}`),
      ),
    [domain, status],
    3000,
  );
  const retry = useAction(async (key: string) => {
    await api.post(storePath(domain, `/catalog-publish/products/${encodeURIComponent(key)}/retry`));
    await states.reload();
  });
  const items = states.data?.items ?? [];
  return (
    <>
      <div class="toolbar">
        <SelectField
          id="pub-status"
          label="Status"
          value={status}
          onChange={setStatus}
          any="any"
          options={["pending", "done", "refused"]}
        />
      </div>
      <ErrorBox error={states.error ?? retry.error} />
      <Table
        caption="Products published to this store"
        headers={["Product", "Status", "Error", "Published", ""]}
        count={items.length}
        id="pub-states"
        empty="Nothing published to this store yet."
      >
        {items.map((s) => (
          <tr key={s.key} data-key={s.key} data-status={s.status}>
            <td>
              {s.key}
              <div class="muted">{s.title}</div>
            </td>
            <td>
              <Badge value={s.status} />
            </td>
            <PublishStateCells
              name={s.key}
              error={s.error}
              publishedAt={s.publishedAt}
              retry={s.status === "refused" && canRetry}
              busy={retry.busy}
              onRetry={() => void retry.run(s.key)}
            />
          </tr>
        ))}
      </Table>
    </>
  );
}

interface BulkRun {
  id: number;
  phase: "products" | "channels" | "prices" | "read";
  status: "starting" | "running" | "done" | "failed" | "abandoned";
  operationId: string | null;
  products: number;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

const PHASES: Record<BulkRun["phase"], string> = {
  products: "Products",
  channels: "Sales channels",
  prices: "Prices",
  read: "Reading the store's products (changed products)",
};

/** Large publishes run as Shopify bulk operations: the latest ones with their outcome. */
function BulkRuns({ domain }: { domain: string }) {
  const runs = usePoll(
    () => api.get<{ items: BulkRun[] }>(storePath(domain, "/catalog-publish/bulk-runs")),
    [domain],
    3000,
  );
  const items = runs.data?.items ?? [];
  return (
    <>
      <p>
        A first publish of many new products, and a price change on many products, go to Shopify as one bulk
        operation; smaller changes go one product at a time. While one runs, the store's other publishing
        waits.
      </p>
      <ErrorBox error={runs.error} />
      <Table
        caption="Bulk publishes of this store"
        headers={["What", "Products", "Status", "Shopify operation", "Started", "Ended"]}
        count={items.length}
        id="pub-bulk-runs"
        empty="No bulk publish yet."
      >
        {items.map((r) => (
          <tr key={r.id} data-status={r.status} data-phase={r.phase}>
            <td>{PHASES[r.phase]}</td>
            <td>{r.products}</td>
            <td>
              <Badge value={r.status === "abandoned" ? "skipped" : r.status} label={r.status} />
              {r.error && <div>{r.error}</div>}
            </td>
            <td class="muted">{r.operationId?.split("/").at(-1) ?? "—"}</td>
            <td>{fmtTime(r.startedAt)}</td>
            <td>{fmtTime(r.finishedAt)}</td>
          </tr>
        ))}
      </Table>
    </>
  );
}

export function PublishScreen() {
  const { can } = useSession();
  const stores = usePoll(() => api.get<{ items: StoreView[] }>("/api/v1/stores"), [], 0);
  const [store, setStore] = useState("");
  useEffect(() => {
    if (!store && stores.data?.items[0]) setStore(stores.data.items[0].domain);
  }, [stores.data, store]);
  return (
    <>
      <h1>Catalog publish</h1>
      <p>
        Writes the hub's products and prices to a store with the store's rules. Variants, images and
        metafields added in Shopify are kept unless the hub owns the store's products entirely. Run a dry run
        before enabling the flow on the store's page.
      </p>
      <div class="toolbar">
        <SelectField
          id="pub-store"
          label="Store"
          value={store}
          onChange={setStore}
          options={stores.data?.items.map((s) => s.domain) ?? []}
        />
      </div>
      {store && (
        <>
          <Section title="Rules" id="pub-rules">
            <RulesForm domain={store} canEdit={can("store.operate")} />
          </Section>
          <Section title="Dry run" id="pub-dry-run">
            <DryRun domain={store} canRun={can("store.operate")} />
          </Section>
          <Section title="Products" id="pub-products">
            <States domain={store} canRetry={can("store.operate")} />
          </Section>
          <Section title="Bulk publishes" id="pub-bulk">
            <BulkRuns domain={store} />
          </Section>
          <Section title="Price lists" id="pub-price-lists">
            <PriceLists domain={store} />
          </Section>
        </>
      )}
    </>
  );
}
