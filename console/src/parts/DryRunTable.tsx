/** The dry run: per SKU and location, Shopify now against the hub, with totals, a filter and CSV. */
import { useMemo, useState } from "preact/hooks";
import { dryRunSentence } from "../summaries.ts";
import type { DryRunReport, DryRunRow } from "../types.ts";
import { Table } from "../ui.tsx";

const csvCell = (v: unknown) => {
  const s = String(v ?? "");
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function toCsv(rows: readonly DryRunRow[]): string {
  const head = [
    "sku",
    "location",
    "shopify_on_hand",
    "shopify_available",
    "shopify_committed",
    "hub_on_hand",
    "hub_available",
    "hub_committed",
    "difference",
    "cause",
  ];
  const lines = rows.map((r) =>
    [
      r.sku,
      r.location,
      r.shopify.onHand,
      r.shopify.available,
      r.shopify.committed,
      r.hub.onHand,
      r.hub.available,
      r.hub.committed,
      r.difference,
      r.cause ?? "",
    ]
      .map(csvCell)
      .join(","),
  );
  return `${[head.join(","), ...lines].join("\n")}\n`;
}

export function DryRunTable({ report, domain }: { report: DryRunReport; domain: string }) {
  const [filter, setFilter] = useState("");
  const [onlyDiff, setOnlyDiff] = useState(false);
  const rows = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return report.rows.filter(
      (r) =>
        (!onlyDiff || r.difference !== 0) &&
        (!f || r.sku.toLowerCase().includes(f) || r.location.toLowerCase().includes(f)),
    );
  }, [report, filter, onlyDiff]);
  const sum = (pick: (r: DryRunRow) => number) => rows.reduce((n, r) => n + pick(r), 0);
  const csvHref = useMemo(() => URL.createObjectURL(new Blob([toCsv(rows)], { type: "text/csv" })), [rows]);
  return (
    <div class="dry-run">
      <p id="dry-run-summary">{dryRunSentence(report)}</p>
      <div class="toolbar">
        <div class="field inline">
          <label for="dry-run-filter">Filter by SKU or location</label>
          <input
            id="dry-run-filter"
            type="search"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
        </div>
        <label class="check">
          <input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff(e.currentTarget.checked)} />{" "}
          Only differences
        </label>
        <a class="button secondary" href={csvHref} download={`dry-run-${domain}.csv`}>
          Download CSV ({rows.length} rows)
        </a>
      </div>
      <Table
        id="dry-run-table"
        caption="Dry run: Shopify now and what the hub would set, per SKU and location"
        headers={[
          "SKU",
          "Location",
          "Shopify on hand",
          "Shopify available",
          "Hub on hand",
          "Hub available",
          "Difference (on hand)",
          "Likely cause",
        ]}
        count={rows.length}
        empty="No row matches."
      >
        {rows.slice(0, 500).map((r) => (
          <tr key={`${r.sku}@${r.locationId}`} class={r.difference !== 0 ? "diff" : ""}>
            <td>{r.sku}</td>
            <td>{r.location}</td>
            <td class="num">{r.shopify.onHand}</td>
            <td class="num">{r.shopify.available}</td>
            <td class="num">{r.hub.onHand}</td>
            <td class="num">{r.hub.available}</td>
            <td class="num">{r.difference > 0 ? `+${r.difference}` : r.difference}</td>
            <td>{r.cause ?? ""}</td>
          </tr>
        ))}
      </Table>
      <table class="totals">
        <caption class="sr-only">Totals of the rows shown</caption>
        <tbody>
          <tr>
            <th scope="row">Totals of {rows.length} rows</th>
            <td>Shopify on hand {sum((r) => r.shopify.onHand)}</td>
            <td>Hub on hand {sum((r) => r.hub.onHand)}</td>
            <td>Difference (hub − Shopify) {sum((r) => r.difference)}</td>
          </tr>
        </tbody>
      </table>
      {rows.length > 500 && (
        <p class="muted">The first 500 rows are shown; the CSV holds all {rows.length}.</p>
      )}
    </div>
  );
}
