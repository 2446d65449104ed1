/** A store's catalog: the hub's variants with their link to the store, or the problem and what to do. */
import { useEffect, useState } from "preact/hooks";
import { api, qs, storePath } from "../../api.ts";
import { usePoll } from "../../hooks.ts";
import { usePaged } from "../../hooksPaged.ts";
import { LINK_PROBLEM_HELP } from "../../parts/LinkProblems.tsx";
import { href } from "../../router.ts";
import type { StoreView } from "../../types.ts";
import { Badge, ErrorBox, More, onSubmit, SelectField, Table } from "../../ui.tsx";

interface CatalogItem {
  variantId: number | null;
  sku: string | null;
  barcode: string | null;
  title: string | null;
  state: "linked" | "problem" | "unlinked";
  shopifyVariantId: string | null;
  inventoryItemId: string | null;
  matchedBy: "sku" | "barcode" | null;
  problem: { id: number; kind: string; reason: string; detectedAt: number } | null;
}

const gidTail = (gid: string | null) => gid?.split("/").pop() ?? "—";

export function CatalogScreen() {
  const stores = usePoll(() => api.get<{ items: StoreView[] }>("/api/v1/stores"), [], 0);
  const [store, setStore] = useState("");
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  const [state, setState] = useState("");
  useEffect(() => {
    if (!store && stores.data?.items[0]) setStore(stores.data.items[0].domain);
  }, [stores.data, store]);
  const list = usePaged<CatalogItem>(
    store ? storePath(store, `/catalog${qs({ q, state, limit: 50 })}`) : null,
    (i) => `${i.variantId}-${i.shopifyVariantId}-${i.problem?.id}`,
    15_000,
  );
  return (
    <>
      <h1>Catalog</h1>
      <form class="toolbar" aria-label="Search the catalog" onSubmit={onSubmit(() => setQ(text.trim()))}>
        <SelectField
          id="cat-store"
          label="Store"
          value={store}
          onChange={setStore}
          options={stores.data?.items.map((s) => s.domain) ?? []}
        />
        <div class="field inline">
          <label for="cat-q">SKU (or its beginning) or barcode</label>
          <input id="cat-q" type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </div>
        <div class="field inline">
          <label for="cat-state">Link</label>
          <select id="cat-state" value={state} onChange={(e) => setState(e.currentTarget.value)}>
            <option value="">Any</option>
            <option value="linked">Linked</option>
            <option value="problem">Problem</option>
            <option value="unlinked">Not linked</option>
          </select>
        </div>
        <button type="submit">Search</button>
      </form>
      {stores.data?.items.length === 0 && <p>No store is connected yet.</p>}
      <ErrorBox error={list.first.error ?? list.more.error} />
      <section class="panel" aria-label="Variants">
        <Table
          caption={`Variants and their link to ${store}`}
          headers={["SKU", "Title", "Barcode", "Link", "Shopify variant", "Inventory item", "What to do"]}
          count={list.items.length}
          empty="No variant matches."
          id="catalog-table"
        >
          {list.items.map((i) => (
            <tr key={`${i.variantId}-${i.shopifyVariantId}-${i.problem?.id}`} data-sku={i.sku ?? ""}>
              <td>{i.sku ? <a href={href(`/stock?sku=${encodeURIComponent(i.sku)}`)}>{i.sku}</a> : "—"}</td>
              <td>{i.title ?? ""}</td>
              <td>{i.barcode ?? "—"}</td>
              <td>
                <Badge
                  value={i.state}
                  label={
                    i.state === "linked"
                      ? `linked by ${i.matchedBy ?? "SKU"}`
                      : i.state === "problem"
                        ? (LINK_PROBLEM_HELP[i.problem?.kind ?? ""]?.label ?? "problem")
                        : "not linked"
                  }
                />
              </td>
              <td class="mono">{gidTail(i.shopifyVariantId)}</td>
              <td class="mono">{gidTail(i.inventoryItemId)}</td>
              <td>
                {i.problem
                  ? (LINK_PROBLEM_HELP[i.problem.kind]?.todo ?? i.problem.reason)
                  : i.state === "unlinked"
                    ? "Link the store again once it sells this SKU."
                    : ""}
              </td>
            </tr>
          ))}
        </Table>
        <More next={list.next} onMore={() => void list.more.run()} busy={list.more.busy} />
      </section>
    </>
  );
}
