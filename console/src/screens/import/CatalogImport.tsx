/**
 * Importing a store's catalog from Shopify: start a run (mode, what it may write), follow its
 * progress while it runs (read, matched, created, updated, problems), cancel it, and see the link
 * problems it left with what to do about each.
 */
import { useEffect, useState } from "preact/hooks";
import { api, storePath } from "../../api.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { LinkProblems, type LinkProblemView } from "../../parts/LinkProblems.tsx";
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

interface ImportRun {
  id: number;
  job: number;
  mode: "create_only" | "create_and_overwrite";
  fields: string[];
  status: "running" | "done" | "failed" | "cancelled";
  jobStatus: string | null;
  progress: { phase: string; done?: number; total?: number } | null;
  productsRead: number;
  variantsRead: number;
  matched: number;
  created: number;
  updated: number;
  problems: number;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

interface WaitingJob {
  id: number;
  status: string;
  progress: { phase: string } | null;
}

/** What an import may write, in the order shown, with what each covers. */
const FIELDS: readonly { field: string; label: string }[] = [
  { field: "title", label: "Titles" },
  { field: "description", label: "Descriptions" },
  { field: "vendor", label: "Vendors (brands)" },
  { field: "productType", label: "Product types" },
  { field: "tags", label: "Tags" },
  { field: "status", label: "Status (active, draft, archived)" },
  { field: "category", label: "Taxonomy category" },
  { field: "seo", label: "SEO title and description" },
  { field: "images", label: "Images" },
  { field: "metafields", label: "Metafields" },
  { field: "variants", label: "Options and variants (adds Shopify's variants)" },
  { field: "prices", label: "Prices, compare-at prices and costs" },
  { field: "barcodes", label: "Barcodes" },
  { field: "weights", label: "Weights" },
];

const MODES = [
  {
    mode: "create_only",
    label: "Create only",
    about:
      "Link what matches and create hub products for what does not; nothing that exists in the hub changes.",
  },
  {
    mode: "create_and_overwrite",
    label: "Create and overwrite",
    about: "Also update the hub's existing products from Shopify, for the fields chosen below.",
  },
] as const;

export function CatalogImportScreen() {
  const { can } = useSession();
  const stores = usePoll(() => api.get<{ items: StoreView[] }>("/api/v1/stores"), [], 0);
  const [store, setStore] = useState("");
  useEffect(() => {
    if (!store && stores.data?.items[0]) setStore(stores.data.items[0].domain);
  }, [stores.data, store]);
  const runs = usePoll(
    () =>
      store
        ? api.get<{ items: ImportRun[]; waiting: WaitingJob | null }>(storePath(store, "/catalog-imports"))
        : Promise.resolve({ items: [], waiting: null }),
    [store],
    2000,
  );
  const problems = usePoll(
    () =>
      store
        ? api.get<{ items: LinkProblemView[] }>(storePath(store, "/link-problems"))
        : Promise.resolve({ items: [] }),
    [store],
    5000,
  );
  const [mode, setMode] = useState<string>("create_only");
  const [fields, setFields] = useState<ReadonlySet<string>>(new Set(FIELDS.map((f) => f.field)));
  const start = useAction(async () => {
    // Waiting a second lets this hub start the run at once when it holds the store.
    await api.post(storePath(store, "/catalog-imports"), { mode, fields: [...fields], waitSeconds: 1 });
    await runs.reload();
  });
  const cancel = useAction(async (id: number) => {
    await api.post(storePath(store, `/catalog-imports/${id}/cancel`));
    await runs.reload();
  });
  const items = runs.data?.items ?? [];
  // The problems a run leaves are read again as soon as it ends, not at the next 5-second poll.
  const newest = items[0] ? `${items[0].id}:${items[0].status}` : "";
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when the newest run changes state
  useEffect(() => {
    if (newest) void problems.reload();
  }, [newest]);
  const [linkSku, setLinkSku] = useState("");
  const [linkVariant, setLinkVariant] = useState("");
  const [move, setMove] = useState(false);
  const [linked, setLinked] = useState<string | null>(null);
  const link = useAction(async (sku: string, productVariantId: string, moveIt: boolean) => {
    setLinked(null);
    const r = await api.post<{
      sku?: string;
      productVariantId?: string;
      movedFrom?: string | null;
      status?: string;
    }>(storePath(store, "/variant-links?waitSeconds=20"), { sku, productVariantId, move: moveIt });
    setLinked(
      r.productVariantId
        ? `Linked ${r.sku} to Shopify variant ${r.productVariantId.replace("gid://shopify/ProductVariant/", "")}${r.movedFrom ? ` (moved from ${r.movedFrom})` : ""}.`
        : `Linking ${sku} is ${r.status ?? "queued"}; the problem list updates when it is done.`,
    );
    await problems.reload();
  });
  const busy = items.some((r) => r.status === "running") || !!runs.data?.waiting;
  const fieldError = start.error?.forField("fields");
  return (
    <>
      <h1>Catalog import</h1>
      <p>
        Reads a store's products from Shopify (one bulk operation), links them to the hub's variants by SKU,
        then barcode, and creates what the hub lacks. Stock is never touched.
      </p>
      <div class="toolbar">
        <SelectField
          id="imp-store"
          label="Store"
          value={store}
          onChange={setStore}
          options={stores.data?.items.map((s) => s.domain) ?? []}
        />
      </div>
      {can("store.operate") && store && (
        <Section title="Start an import" id="start-import">
          <form onSubmit={onSubmit(() => void start.run())} aria-label="Start an import">
            <fieldset class="choice">
              <legend>Mode</legend>
              {MODES.map((m) => (
                <label class="check" key={m.mode}>
                  <input
                    type="radio"
                    name="import-mode"
                    value={m.mode}
                    checked={mode === m.mode}
                    onChange={() => setMode(m.mode)}
                  />{" "}
                  <strong>{m.label}</strong>: {m.about}
                </label>
              ))}
            </fieldset>
            <fieldset
              class={`flows${fieldError ? " invalid" : ""}`}
              aria-describedby={fieldError ? "imp-fields-error" : undefined}
            >
              <legend>What the import may write</legend>
              {FIELDS.map((f) => (
                <label class="check" key={f.field}>
                  <input
                    type="checkbox"
                    name={`field-${f.field}`}
                    checked={fields.has(f.field)}
                    onChange={(e) => {
                      const next = new Set(fields);
                      if (e.currentTarget.checked) next.add(f.field);
                      else next.delete(f.field);
                      setFields(next);
                    }}
                  />{" "}
                  {f.label}
                </label>
              ))}
              {fieldError && (
                <small class="field-error" role="alert" id="imp-fields-error">
                  {fieldError.code}: {fieldError.message}
                </small>
              )}
            </fieldset>
            <ErrorBox error={start.error} placed={(p) => p.split(/[.[]/)[0] === "fields"} />
            <div class="actions">
              <button type="submit" disabled={start.busy || busy}>
                Start the import
              </button>
              {busy && <span class="muted">An import of this store is waiting or running.</span>}
            </div>
          </form>
        </Section>
      )}
      <Section title="Import runs" id="import-runs">
        <ErrorBox error={runs.error ?? cancel.error} />
        {runs.data?.waiting && (
          <p class="muted" id="import-waiting">
            Job {runs.data.waiting.id}:{" "}
            {runs.data.waiting.progress?.phase ?? "waiting for the store's worker"}
          </p>
        )}
        <Table
          caption="Import runs"
          headers={[
            "Run",
            "Started",
            "Mode",
            "Status",
            "Read",
            "Matched",
            "Created",
            "Updated",
            "Problems",
            "",
          ]}
          count={items.length}
          empty="No import has run for this store."
        >
          {items.map((r) => (
            <tr key={r.id} data-run={r.id} data-status={r.status}>
              <td>{r.id}</td>
              <td>{fmtTime(r.startedAt)}</td>
              <td>{r.mode === "create_only" ? "Create only" : "Create and overwrite"}</td>
              <td>
                <Badge value={r.status} />
                {r.status === "running" && r.progress && (
                  <div class="muted" aria-live="polite">
                    {r.progress.phase}
                    {r.progress.total ? ` (${r.progress.done ?? 0} of ${r.progress.total})` : ""}
                  </div>
                )}
                {r.error && <div class="muted">{r.error}</div>}
              </td>
              <td>
                {r.variantsRead} variants of {r.productsRead} products
              </td>
              <td>{r.matched}</td>
              <td>{r.created}</td>
              <td>{r.updated}</td>
              <td>{r.problems}</td>
              <td>
                {r.status === "running" && can("store.operate") && (
                  <button
                    type="button"
                    class="secondary"
                    disabled={cancel.busy}
                    onClick={() => void cancel.run(r.id)}
                    aria-label={`Cancel import run ${r.id}`}
                  >
                    Cancel
                  </button>
                )}
              </td>
            </tr>
          ))}
        </Table>
      </Section>
      <Section title="Link problems" id="import-problems">
        <ErrorBox error={problems.error} />
        {linked && (
          <p class="ok" role="status">
            {linked}
          </p>
        )}
        <LinkProblems
          id="import-problem-list"
          items={problems.data?.items ?? []}
          {...(can("store.operate")
            ? { onPick: (sku, gid) => void link.run(sku, gid, false), busy: link.busy }
            : {})}
        />
        {can("store.operate") && (
          <form
            aria-label="Link by hand"
            onSubmit={onSubmit(() => void link.run(linkSku.trim(), linkVariant.trim(), move))}
          >
            <h3>Link by hand</h3>
            <ErrorBox error={link.error} placed={(path) => path === "sku" || path === "productVariantId"} />
            <Field label="Hub SKU" id="link-sku" field="sku" error={link.error}>
              <input
                {...described("link-sku", link.error, "sku")}
                value={linkSku}
                required
                onInput={(e) => setLinkSku(e.currentTarget.value)}
              />
            </Field>
            <Field
              label="Shopify variant"
              id="link-variant"
              field="productVariantId"
              error={link.error}
              hint="Its id (as in Shopify's admin URL) or gid://shopify/ProductVariant/…"
            >
              <input
                {...described("link-variant", link.error, "productVariantId", true)}
                value={linkVariant}
                required
                onInput={(e) => setLinkVariant(e.currentTarget.value)}
              />
            </Field>
            <label class="check">
              <input type="checkbox" checked={move} onChange={(e) => setMove(e.currentTarget.checked)} /> Move
              it if it is linked to another SKU
            </label>
            <button type="submit" disabled={link.busy || !store}>
              Link by hand
            </button>
          </form>
        )}
      </Section>
    </>
  );
}
