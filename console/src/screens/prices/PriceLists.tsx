/**
 * A store's price lists: each back-office price group (seed 004) as the Shopify price list it
 * became, with how many of its prices Shopify holds as sent, how many wait, how many are not sent
 * because their product is not in the store, and Shopify's last error.
 */
import { api, storePath } from "../../api.ts";
import { usePoll } from "../../hooks.ts";
import { Badge, ErrorBox, fmtTime, Table } from "../../ui.tsx";

interface PriceListRow {
  code: string;
  name: string;
  currency: string;
  priceListId: string | null;
  catalogId: string | null;
  prices: number;
  notInStore: number;
  confirmed: number;
  pending: number;
  state: "in_sync" | "pending" | "failing";
  error: { code: string; message: string } | null;
  syncedAt: string | null;
}

const STATE: Record<PriceListRow["state"], [tone: string, label: string]> = {
  in_sync: ["done", "in sync"],
  pending: ["pending", "waiting"],
  failing: ["failing", "failing"],
};

export function PriceLists({ domain }: { domain: string }) {
  const lists = usePoll(
    () => api.get<{ items: PriceListRow[] }>(storePath(domain, "/price-lists")),
    [domain],
    3000,
  );
  const items = lists.data?.items ?? [];
  return (
    <>
      <p>
        Each price group of the back office becomes a price list in the store, attached to a catalog of its
        own. A group's prices are sent only for products published to this store; a price change touches only
        its own list. Prices go with the catalog publish: pausing the flow holds them too.
      </p>
      <ErrorBox error={lists.error} />
      <Table
        caption="Price lists of this store"
        headers={[
          "Price group",
          "Currency",
          "State",
          "In Shopify",
          "Waiting",
          "Not in this store",
          "Shopify",
          "Last sent",
        ]}
        count={items.length}
        id="price-lists"
        empty="No price groups yet: the back office creates them with PUT /api/v1/price-groups and sets their prices with PUT /api/v1/price-groups/{code}/prices."
      >
        {items.map((g) => {
          const [tone, label] = STATE[g.state];
          return (
            <tr key={g.code} data-code={g.code} data-state={g.state}>
              <td>
                {g.code}
                <div class="muted">{g.name}</div>
              </td>
              <td>{g.currency}</td>
              <td>
                <Badge value={tone} label={label} />
                {g.error && (
                  <div>
                    <strong>{g.error.code}</strong>: {g.error.message}
                  </div>
                )}
              </td>
              <td>
                {g.confirmed} of {g.prices - g.notInStore}
              </td>
              <td>{g.pending}</td>
              <td title="Prices whose product is not published to this store are not sent">{g.notInStore}</td>
              <td>
                {g.priceListId ? (
                  <span class="muted">
                    {g.priceListId.split("/").at(-1)} (catalog {g.catalogId?.split("/").at(-1) ?? "—"})
                  </span>
                ) : (
                  <span class="muted">not created yet</span>
                )}
              </td>
              <td>{fmtTime(g.syncedAt)}</td>
            </tr>
          );
        })}
      </Table>
    </>
  );
}
