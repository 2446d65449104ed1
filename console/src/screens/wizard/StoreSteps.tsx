/** Steps 2–4: map locations to warehouses, link variants, look at the dry run. */
import { useEffect, useState } from "preact/hooks";
import { api, storePath } from "../../api.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { DryRunTable } from "../../parts/DryRunTable.tsx";
import { JobStatus } from "../../parts/JobStatus.tsx";
import { LinkProblems, type LinkProblemView } from "../../parts/LinkProblems.tsx";
import { useJob } from "../../parts/useJob.ts";
import type { DryRunReport, LocationView } from "../../types.ts";
import { ErrorBox, Loading, onSubmit, Table } from "../../ui.tsx";
import type { StoreState } from "./steps.ts";

interface Row {
  locationId: string;
  name: string;
  warehouse: string;
  managed: boolean;
}

export function LocationsStep({ state, onDone }: { state: StoreState; onDone: () => void }) {
  const domain = state.store.domain;
  const warehouses = usePoll(
    () => api.get<{ items: { code: string; name: string }[] }>("/api/v1/warehouses"),
    [],
    0,
  );
  const [locations, setLocations] = useState<LocationView[]>(state.locations);
  // Right after connecting, the store's locations are still being read (a job): ask until they are there.
  const fresh = usePoll(
    () => api.get<{ items: LocationView[] }>(storePath(domain, "/locations")),
    [domain, locations.length === 0],
    locations.length === 0 ? 1000 : 0,
  );
  useEffect(() => {
    if (locations.length === 0 && fresh.data && fresh.data.items.length > 0) setLocations(fresh.data.items);
  }, [fresh.data, locations.length]);
  const [rows, setRows] = useState<Row[]>([]);
  const [def, setDef] = useState<string>("");
  useEffect(() => {
    const only = warehouses.data?.items.length === 1 ? warehouses.data.items[0]!.code : "";
    const active = locations.filter((l) => l.activeInShopify !== false);
    const anyMapped = active.some((l) => l.warehouses.length > 0);
    const first = Math.max(
      0,
      active.findIndex((l) => l.default),
    );
    setRows(
      active.map((l, i) => ({
        locationId: l.locationId,
        name: l.name,
        // With one warehouse and nothing mapped yet, propose it for the first location.
        warehouse: l.warehouses[0] ?? (!anyMapped && i === first ? only : ""),
        managed: anyMapped ? l.managed : i === first && only !== "",
      })),
    );
    setDef(active.find((l) => l.default)?.locationId ?? active[0]?.locationId ?? "");
  }, [locations, warehouses.data]);
  const set = (i: number, patch: Partial<Row>) =>
    setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const resync = useAction(async () => {
    const r = await api.post<{ items: LocationView[] }>(storePath(domain, "/locations/sync"));
    setLocations(r.items);
  });
  const save = useAction(async () => {
    await api.put(storePath(domain, "/locations/mapping"), {
      locations: rows.map((r) => ({
        locationId: r.locationId,
        warehouses: r.warehouse ? [r.warehouse] : [],
        managed: r.managed && r.warehouse !== "",
        default: r.locationId === def,
      })),
    });
    onDone();
  });
  if (!warehouses.data) return <Loading what="warehouses" />;
  const noWarehouse = warehouses.data.items.length === 0;
  return (
    <form onSubmit={onSubmit(() => void save.run())}>
      <h2 tabIndex={-1}>Where is each Shopify location's stock?</h2>
      <p>
        For each of the store's locations, choose the warehouse whose sellable stock Shopify should show
        there. “Managed” locations get their stock from the hub; the others are left alone. The default
        location is where orders without a location reserve their stock.
      </p>
      {noWarehouse && (
        <p class="error" role="alert">
          The hub has no warehouses yet: the back office must send them first (PUT /api/v1/warehouses).
        </p>
      )}
      <Table
        caption="Shopify locations and hub warehouses"
        headers={["Shopify location", "Hub warehouse", "Managed", "Default"]}
        count={rows.length}
        empty="Reading the store's locations from Shopify…"
      >
        {rows.map((r, i) => (
          <tr key={r.locationId} data-location={r.name}>
            <th scope="row">{r.name}</th>
            <td>
              <select
                aria-label={`Warehouse for ${r.name}`}
                value={r.warehouse}
                onChange={(e) => {
                  const w = e.currentTarget.value;
                  set(i, { warehouse: w, managed: w !== "" });
                }}
              >
                <option value="">— not mapped —</option>
                {warehouses.data!.items.map((w) => (
                  <option key={w.code} value={w.code}>
                    {w.name} ({w.code})
                  </option>
                ))}
              </select>
            </td>
            <td>
              <input
                type="checkbox"
                aria-label={`Hub manages stock at ${r.name}`}
                checked={r.managed}
                disabled={!r.warehouse}
                onChange={(e) => set(i, { managed: e.currentTarget.checked })}
              />
            </td>
            <td>
              <input
                type="radio"
                name="default-location"
                aria-label={`${r.name} is the default location`}
                checked={def === r.locationId}
                onChange={() => setDef(r.locationId)}
              />
            </td>
          </tr>
        ))}
      </Table>
      <ErrorBox error={save.error ?? resync.error} />
      <div class="actions">
        <button type="submit" disabled={save.busy || !rows.some((r) => r.warehouse && r.managed)}>
          Save and continue
        </button>
        <button type="button" class="secondary" disabled={resync.busy} onClick={() => void resync.run()}>
          Read locations from Shopify again
        </button>
      </div>
    </form>
  );
}

interface LinkSummary {
  linked: number;
  bySku: number;
  byBarcode: number;
  problems: number;
}

export function LinkStep({
  domain,
  onDone,
  onBack,
}: {
  domain: string;
  onDone: () => void;
  onBack: () => void;
}) {
  const job = useJob(domain, "link");
  const problems = usePoll(
    () => api.get<{ items: LinkProblemView[] }>(storePath(domain, "/link-problems")),
    [domain, job.job?.status],
    0,
  );
  // Arriving here the first time starts linking: there is nothing to decide before it.
  useEffect(() => {
    if (job.loaded && !job.job) void job.start();
  }, [job.loaded]);
  const summary = job.job?.status === "done" ? (job.job.result as LinkSummary) : null;
  return (
    <>
      <h2 tabIndex={-1}>Link the hub's variants to Shopify's</h2>
      <p>Variants are matched by SKU first, then by barcode. Nothing is written to Shopify.</p>
      <JobStatus job={job.job} />
      <ErrorBox error={job.error} />
      {summary && (
        <p id="link-summary">
          {summary.linked} variants linked ({summary.bySku} by SKU, {summary.byBarcode} by barcode);{" "}
          {summary.problems === 0
            ? "no problems."
            : `${summary.problems} problems, listed below with what to do.`}
        </p>
      )}
      {problems.data && problems.data.items.length > 0 && <LinkProblems items={problems.data.items} />}
      <div class="actions">
        <button type="button" class="secondary" onClick={onBack}>
          Back
        </button>
        <button type="button" class="secondary" disabled={job.running} onClick={() => void job.start()}>
          Link again
        </button>
        <button type="button" disabled={!summary} onClick={onDone}>
          Continue
        </button>
      </div>
    </>
  );
}

export function DryRunStep({
  domain,
  onDone,
  onBack,
}: {
  domain: string;
  onDone: () => void;
  onBack: () => void;
}) {
  const job = useJob(domain, "dry_run");
  useEffect(() => {
    if (job.loaded && !job.job) void job.start();
  }, [job.loaded]);
  const report = job.job?.status === "done" ? (job.job.result as DryRunReport) : null;
  return (
    <>
      <h2 tabIndex={-1}>Dry run: what the hub would change in Shopify</h2>
      <p>
        Shopify's quantities now against what the hub would set, per SKU and location. Nothing is written yet.
      </p>
      <JobStatus job={job.job} />
      <ErrorBox error={job.error} />
      {report && <DryRunTable report={report} domain={domain} />}
      <div class="actions">
        <button type="button" class="secondary" onClick={onBack}>
          Back
        </button>
        <button type="button" class="secondary" disabled={job.running} onClick={() => void job.start()}>
          Run again
        </button>
        <button type="button" disabled={!report} onClick={onDone}>
          Continue
        </button>
      </div>
    </>
  );
}
