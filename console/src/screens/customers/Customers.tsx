/**
 * The back office's customers in a store (issue 16): per customer, whether it is waiting,
 * published (the Shopify customer and company), refused (Shopify's error with the field) or
 * redacted; search by key, email or company; a refused customer can be retried by an operator.
 */
import { useEffect, useState } from "preact/hooks";
import { api, qs, storePath } from "../../api.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { usePaged } from "../../hooksPaged.ts";
import { PublishStateCells } from "../../parts/PublishStateCells.tsx";
import { useSession } from "../../session.tsx";
import type { StoreView } from "../../types.ts";
import { Badge, ErrorBox, More, SelectField, Table } from "../../ui.tsx";

interface CustomerRow {
  key: string;
  name: string | null;
  email: string | null;
  companyName: string | null;
  companyKey: string | null;
  status: "waiting" | "pending" | "published" | "refused" | "redacted";
  error: { code: string; field: string | null; message: string; step?: string } | null;
  attempts: number;
  shopifyCustomerId: string | null;
  shopifyCompanyId: string | null;
  publishedAt: string | null;
}

const STATUSES = ["waiting", "pending", "published", "refused", "redacted"];
const shortId = (gid: string | null) => (gid ? gid.split("/").pop() : "");

function CustomerList({ domain, canRetry }: { domain: string; canRetry: boolean }) {
  const [status, setStatus] = useState("");
  const [q, setQ] = useState("");
  const [search, setSearch] = useState("");
  const url = storePath(domain, `/customers${qs({ status, q: search || undefined, limit: 50 })}`);
  const list = usePaged<CustomerRow>(url, (r) => r.key, 5000);
  const retry = useAction(async (key: string) => {
    await api.post(storePath(domain, `/customers/${encodeURIComponent(key)}/retry`));
    await list.first.reload();
  });
  return (
    <>
      <div class="toolbar">
        <SelectField
          id="cust-status"
          label="Status"
          value={status}
          onChange={setStatus}
          any="any"
          options={STATUSES}
        />
        <form
          class="field inline"
          aria-label="Find customers"
          onSubmit={(e) => {
            e.preventDefault();
            setSearch(q.trim());
          }}
        >
          <label for="cust-q">Find</label>
          <input
            id="cust-q"
            type="search"
            value={q}
            placeholder="key, email or company"
            onInput={(e) => setQ(e.currentTarget.value)}
          />
          <button type="submit" class="secondary">
            Find
          </button>
        </form>
      </div>
      <ErrorBox error={list.first.error ?? retry.error ?? list.more.error} />
      <Table
        caption={`Customers of the back office in ${domain}`}
        headers={["Customer", "Company", "Status", "Shopify", "Problem", "Published", ""]}
        count={list.items.length}
        id="cust-list"
        empty={
          search || status
            ? "No customer matches."
            : "No customers yet: the back office sends them with PUT /api/v1/customers."
        }
      >
        {list.items.map((c) => (
          <tr key={c.key} data-key={c.key} data-status={c.status}>
            <td>
              {c.key}
              <div class="muted">{[c.name, c.email].filter(Boolean).join(" · ")}</div>
            </td>
            <td>
              {c.companyName ?? ""}
              {c.companyKey && <div class="muted">key {c.companyKey}</div>}
            </td>
            <td>
              <Badge value={c.status} />
              {c.attempts > 0 && c.status !== "published" && (
                <div class="muted">
                  {c.attempts} {c.attempts === 1 ? "attempt" : "attempts"}
                </div>
              )}
            </td>
            <td>
              {c.shopifyCustomerId && <div>customer {shortId(c.shopifyCustomerId)}</div>}
              {c.shopifyCompanyId && <div class="muted">company {shortId(c.shopifyCompanyId)}</div>}
            </td>
            <PublishStateCells
              name={c.key}
              error={c.error}
              publishedAt={c.publishedAt}
              retry={c.status === "refused" && canRetry}
              busy={retry.busy}
              onRetry={() => void retry.run(c.key)}
            />
          </tr>
        ))}
      </Table>
      <More next={list.next} onMore={() => void list.more.run()} busy={list.more.busy} />
    </>
  );
}

export function CustomersScreen() {
  const { can } = useSession();
  const stores = usePoll(() => api.get<{ items: StoreView[] }>("/api/v1/stores"), [], 0);
  const [store, setStore] = useState("");
  useEffect(() => {
    if (!store && stores.data?.items[0]) setStore(stores.data.items[0].domain);
  }, [stores.data, store]);
  const flow = stores.data?.items
    .find((s) => s.domain === store)
    ?.flows.find((f) => f.flow === "customer_publish");
  return (
    <>
      <h1>Customers</h1>
      <p>
        The back office's customers and companies, written to each store with the customer publish flow. A
        customer Shopify already has (same email, else same phone) is linked, never created twice. Marketing
        consent is sent only as the back office states it.
      </p>
      <div class="toolbar">
        <SelectField
          id="cust-store"
          label="Store"
          value={store}
          onChange={setStore}
          options={stores.data?.items.map((s) => s.domain) ?? []}
        />
        {flow && (
          <span>
            Customer publish: <Badge value={flow.state} />{" "}
            {flow.state !== "enabled" && (
              <a href={`#/stores/${encodeURIComponent(store)}`}>switch it on the store's page</a>
            )}
          </span>
        )}
      </div>
      <ErrorBox error={stores.error} />
      {store && <CustomerList domain={store} canRetry={can("store.operate")} />}
    </>
  );
}
