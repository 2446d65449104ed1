/** Steps 5–8: inventory mode, flows on or off, how long to keep personal data, and the live status. */
import { useState } from "preact/hooks";
import type { ApiError } from "../../api.ts";
import { api, storePath } from "../../api.ts";
import { loadFlows, setFlow } from "../../flows.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { FlowsTable } from "../../parts/FlowsTable.tsx";
import { href } from "../../router.ts";
import { FLOW_ABOUT, FLOW_LABELS, type FlowName, type Job } from "../../types.ts";
import { asApiError, ErrorBox, Field, Loading, onSubmit } from "../../ui.tsx";
import type { StoreState } from "./steps.ts";

export function ModeStep({
  state,
  onDone,
  onBack,
}: {
  state: StoreState;
  onDone: () => void;
  onBack: () => void;
}) {
  const domain = state.store.domain;
  const [mode, setMode] = useState(state.store.inventoryMode);
  const jobs = usePoll(() => api.get<{ items: Job[] }>(storePath(domain, "/jobs")), [domain], 0);
  const lastDryRun = (jobs.data?.items ?? state.jobs).find(
    (j) => j.kind === "dry_run" && j.status === "done",
  );
  const keptByDelta = (lastDryRun?.result as { keptByDelta?: number } | undefined)?.keptByDelta ?? 0;
  const [chosen, setInitialSync] = useState<boolean | null>(null);
  // Proposed when the dry run found counts that delta mode alone would leave as Shopify has them.
  const initialSync = chosen ?? keptByDelta > 0;
  const save = useAction(async () => {
    if (mode !== state.store.inventoryMode) await api.put(storePath(domain, "/inventory-mode"), { mode });
    if (mode === "delta" && initialSync)
      await api.post<Job>(storePath(domain, "/jobs"), { kind: "initial_sync" });
    onDone();
  });
  return (
    <form onSubmit={onSubmit(() => void save.run())}>
      <h2 tabIndex={-1}>How should the hub update Shopify's stock?</h2>
      <fieldset class="choice">
        <legend>Inventory mode</legend>
        <label class="check">
          <input type="radio" name="mode" checked={mode === "delta"} onChange={() => setMode("delta")} />{" "}
          <strong>Delta (recommended to start)</strong>: the hub sends only its own changes (+3 received, −1
          sold), so counts made in Shopify are kept.
        </label>
        <label class="check">
          <input
            type="radio"
            name="mode"
            checked={mode === "absolute"}
            onChange={() => setMode("absolute")}
          />{" "}
          <strong>Absolute</strong>: the hub overwrites Shopify's quantity with its own at every change, so
          Shopify always shows exactly what the back office holds.
        </label>
      </fieldset>
      {mode === "delta" && (
        <label class="check">
          <input
            type="checkbox"
            checked={initialSync}
            onChange={(e) => setInitialSync(e.currentTarget.checked)}
          />{" "}
          Send the hub's count once where Shopify differs today (initial sync
          {keptByDelta > 0 ? `: ${keptByDelta} item-locations` : ""})
        </label>
      )}
      <ErrorBox error={save.error} />
      <div class="actions">
        <button type="button" class="secondary" onClick={onBack}>
          Back
        </button>
        <button type="submit" disabled={save.busy}>
          Save and continue
        </button>
      </div>
    </form>
  );
}

export function FlowsStep({
  state,
  onDone,
  onBack,
}: {
  state: StoreState;
  onDone: () => void;
  onBack: () => void;
}) {
  const domain = state.store.domain;
  const initial = Object.fromEntries(
    state.store.flows.map((f) => [
      f.flow,
      f.state !== "disabled" || (f.flow === "inventory_push" && f.missingScopes.length === 0),
    ]),
  ) as Record<FlowName, boolean>;
  const [on, setOn] = useState(initial);
  const [errors, setErrors] = useState<Partial<Record<FlowName, ApiError>>>({});
  const [busy, setBusy] = useState(false);
  const save = async () => {
    setBusy(true);
    const errs: Partial<Record<FlowName, ApiError>> = {};
    for (const f of state.store.flows) {
      const want = on[f.flow];
      const is = f.state !== "disabled";
      if (want === is) continue;
      try {
        await setFlow(domain, f.flow, want ? "enable" : "disable");
      } catch (e) {
        errs[f.flow] = asApiError(e);
      }
    }
    setErrors(errs);
    setBusy(false);
    if (Object.keys(errs).length === 0) onDone();
  };
  return (
    <form onSubmit={onSubmit(() => void save())}>
      <h2 tabIndex={-1}>Which flows should run?</h2>
      <p>Each can be paused or turned off later on the store's page.</p>
      <fieldset class="flows">
        <legend>Flows</legend>
        {state.store.flows.map((f) => (
          <div class="flow-choice" key={f.flow}>
            <label class="check">
              <input
                type="checkbox"
                name={f.flow}
                checked={on[f.flow]}
                disabled={f.missingScopes.length > 0 && f.state === "disabled"}
                aria-describedby={`about-${f.flow}`}
                onChange={(e) => setOn({ ...on, [f.flow]: e.currentTarget.checked })}
              />{" "}
              <strong>{FLOW_LABELS[f.flow]}</strong>
            </label>
            <small id={`about-${f.flow}`} class="hint">
              {FLOW_ABOUT[f.flow]}
              {f.flow === "catalog_publish" && f.state === "disabled" && (
                <> It starts only after a publish dry run: check one on the Publish screen first.</>
              )}
              {f.missingScopes.length > 0 && (
                <span class="warning">
                  {" "}
                  Needs the scope{f.missingScopes.length > 1 ? "s" : ""} {f.missingScopes.join(", ")}, which
                  the token lacks.
                </span>
              )}
            </small>
            {errors[f.flow] && <ErrorBox error={errors[f.flow]} />}
          </div>
        ))}
      </fieldset>
      <div class="actions">
        <button type="button" class="secondary" onClick={onBack}>
          Back
        </button>
        <button type="submit" disabled={busy}>
          Save and continue
        </button>
      </div>
    </form>
  );
}

export const RETENTION_CHOICES: readonly { value: string; label: string }[] = [
  { value: "30", label: "30 days" },
  { value: "90", label: "90 days" },
  { value: "180", label: "180 days" },
  { value: "365", label: "1 year" },
  { value: "730", label: "2 years" },
  { value: "", label: "Keep forever" },
];

type OrderSettings = Record<string, unknown> & { retentionDays: number | null };

/** The order settings as the PUT takes them: what GET answers, without the read-only flag. */
export function settingsBody(s: OrderSettings): Record<string, unknown> {
  const { outboundSecretSet: _, ...rest } = s;
  return rest;
}

export function RetentionStep({
  domain,
  onDone,
  onBack,
}: {
  domain: string;
  onDone: () => void;
  onBack: () => void;
}) {
  const settings = usePoll(() => api.get<OrderSettings>(storePath(domain, "/order-settings")), [domain], 0);
  const [choice, setChoice] = useState<string | null>(null);
  const current = settings.data
    ? settings.data.retentionDays === null
      ? ""
      : String(settings.data.retentionDays)
    : "";
  const value = choice ?? (settings.data?.retentionDays === null ? "90" : current);
  const save = useAction(async () => {
    await api.put(storePath(domain, "/order-settings"), {
      ...settingsBody(settings.data!),
      retentionDays: value === "" ? null : Number(value),
    });
    onDone();
  });
  if (!settings.data) return <Loading what="order settings" />;
  return (
    <form onSubmit={onSubmit(() => void save.run())}>
      <h2 tabIndex={-1}>How long should customers' personal data be kept?</h2>
      <p>
        Orders bring customers' names, emails, phones and addresses into the hub. After this time, counted
        from when an order is fulfilled or cancelled, they are erased; the order itself (lines, amounts) is
        kept.
      </p>
      <Field label="Keep personal data for" id="retention" field="retentionDays" error={save.error}>
        <select id="retention" value={value} onChange={(e) => setChoice(e.currentTarget.value)}>
          {RETENTION_CHOICES.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </Field>
      <ErrorBox error={save.error} />
      <div class="actions">
        <button type="button" class="secondary" onClick={onBack}>
          Back
        </button>
        <button type="submit" disabled={save.busy}>
          Save and finish
        </button>
      </div>
    </form>
  );
}

export function DoneStep({ domain }: { domain: string }) {
  const flows = usePoll(() => loadFlows(domain), [domain]);
  return (
    <>
      <h2 tabIndex={-1}>{domain} is set up</h2>
      <p>Its flows, live (this updates by itself):</p>
      <ErrorBox error={flows.error} />
      {flows.data ? (
        <FlowsTable domain={domain} flows={flows.data} onChanged={() => void flows.reload()} />
      ) : (
        <Loading what="flows" />
      )}
      <p>
        <a class="button" href={href(`/stores/${encodeURIComponent(domain)}`)}>
          Open the store's page
        </a>{" "}
        <a href={href("/stores")}>All stores</a>
      </p>
    </>
  );
}
