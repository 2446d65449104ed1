/**
 * A store's sync health (issue 18): its webhooks (degraded while subscriptions are missing or
 * refused, or while the hub's public URL is one Shopify refuses), late deliveries, Shopify's
 * deprecation notices and the API version's end of life; the one action that fixes the public
 * URL and re-registers; and the store's coalescing window setting.
 */
import { useState } from "preact/hooks";
import { api, storePath } from "../../api.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { useSession } from "../../session.tsx";
import { Badge, described, ErrorBox, Field, fmtTime, Loading, onSubmit, Section, Table } from "../../ui.tsx";

export interface StoreHealth {
  webhooks: {
    state: "healthy" | "degraded" | "unchecked";
    uri: string | null;
    checkedAt: number | null;
    expected: string[];
    missing: string[];
    recreated: string[];
    failed: { topic: string; message: string }[];
    problem: string | null;
    degradedSince: number | null;
  };
  publicUrl: { url: string; https: boolean; problem: string | null };
  lateDeliveries: { count: number; lastAt: number; lastTopic: string; maxLateMs: number } | null;
  apiVersion: { pinned: string; endOfLife: string; daysLeft: number };
  deprecations: {
    operation: string;
    apiVersion: string;
    reason: string;
    firstSeenAt: number;
    lastSeenAt: number;
    count: number;
  }[];
  coalescing: { maxWindowMs: number | null; defaultMaxWindowMs: number };
}

const healthPath = (domain: string) => storePath(domain, "/health");
const STATE_TONE = { healthy: "active", degraded: "failing", unchecked: "pending" } as const;

/** Fix the public URL and re-register every store's webhooks, in one action (admins). */
function PublicUrlFix({ current, onDone }: { current: string; onDone: () => void }) {
  const [url, setUrl] = useState(current.startsWith("https://") ? current : "");
  const [done, setDone] = useState(false);
  const run = useAction(async () => {
    setDone(false);
    await api.post("/api/v1/webhooks/register", url.trim() ? { publicUrl: url.trim() } : {});
    setDone(true);
    onDone();
  });
  const e = run.error;
  return (
    <form onSubmit={onSubmit(() => void run.run())} aria-label="Fix the public URL and re-register webhooks">
      <Field
        label="Public URL of the hub (https://)"
        id="public-url"
        field="publicUrl"
        error={e}
        hint="The address at which Shopify reaches this hub. Saved over PUBLIC_URL; every store's webhooks are registered again at it."
      >
        <input
          {...described("public-url", e, "publicUrl", true)}
          type="url"
          placeholder="https://hub.example.com"
          value={url}
          onInput={(ev) => setUrl(ev.currentTarget.value)}
        />
      </Field>
      <ErrorBox error={e} placed={(p) => p === "publicUrl"} />
      <div class="actions">
        <button type="submit" disabled={run.busy}>
          Save and re-register webhooks
        </button>
        {done && <span role="status">Webhooks registered again.</span>}
      </div>
    </form>
  );
}

export function SyncHealthPanel({ domain }: { domain: string }) {
  const { can } = useSession();
  const health = usePoll(() => api.get<StoreHealth>(healthPath(domain)), [domain], 10_000);
  const h = health.data;
  if (!h)
    return (
      <Section title="Webhooks and API version" id="sync-health">
        {health.error ? <ErrorBox error={health.error} /> : <Loading what="sync health" />}
      </Section>
    );
  const w = h.webhooks;
  const eolSoon = h.apiVersion.daysLeft <= 90;
  return (
    <Section title="Webhooks and API version" id="sync-health">
      <p>
        Webhooks: <Badge value={STATE_TONE[w.state]} label={w.state} />{" "}
        <span class="muted">
          {w.checkedAt ? `checked ${fmtTime(w.checkedAt)}` : "not checked yet"}
          {w.uri ? ` · ${w.uri}` : ""}
        </span>
      </p>
      {w.problem && (
        <p class="error" role="alert" id="webhooks-problem">
          {w.problem}
          {w.degradedSince ? ` (since ${fmtTime(w.degradedSince)})` : ""}
        </p>
      )}
      {w.missing.length > 0 && (
        <p>
          At the last check {w.missing.length} subscription(s) were missing: {w.missing.join(", ")}
          {w.recreated.length > 0 ? `; re-created: ${w.recreated.join(", ")}` : ""}. The order backfill and
          the drift check cover what was not delivered.
        </p>
      )}
      {h.publicUrl.problem && can("admin") && (
        <PublicUrlFix current={h.publicUrl.url} onDone={() => void health.reload()} />
      )}
      {h.lateDeliveries && (
        <p id="late-deliveries">
          Late deliveries (more than an hour after Shopify triggered them, processed):{" "}
          {h.lateDeliveries.count}, the latest {fmtTime(h.lateDeliveries.lastAt)} (
          {h.lateDeliveries.lastTopic}, up to {Math.round(h.lateDeliveries.maxLateMs / 60_000)} min late).
        </p>
      )}
      <p>
        Shopify API version {h.apiVersion.pinned}: supported until {h.apiVersion.endOfLife.slice(0, 10)}{" "}
        {eolSoon ? (
          <Badge value="failing" label={`${h.apiVersion.daysLeft} days left`} />
        ) : (
          <span class="muted">({h.apiVersion.daysLeft} days left)</span>
        )}
      </p>
      <Table
        caption="Deprecation notices from Shopify, per operation"
        headers={["Operation", "Version", "Notice", "Seen", "Last seen"]}
        count={h.deprecations.length}
        empty="No deprecation notices: every operation uses current fields."
      >
        {h.deprecations.map((d) => (
          <tr key={d.operation}>
            <td>{d.operation}</td>
            <td>{d.apiVersion}</td>
            <td>{d.reason}</td>
            <td>{d.count}</td>
            <td>{fmtTime(d.lastSeenAt)}</td>
          </tr>
        ))}
      </Table>
    </Section>
  );
}

/** The store's longest coalescing window: validated and audited by the hub. */
export function CoalescingForm({ domain }: { domain: string }) {
  const { can } = useSession();
  const health = usePoll(() => api.get<StoreHealth>(healthPath(domain)), [domain], 0);
  const [value, setValue] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    setSaved(false);
    const text = (value ?? "").trim();
    // Sent as typed when it is not a whole number, so the hub names the problem beside the field.
    const maxWindowMs = text === "" ? null : /^\d+$/.test(text) ? Number(text) : text;
    await api.put(storePath(domain, "/coalescing"), { maxWindowMs });
    setValue(null);
    setSaved(true);
    await health.reload();
  });
  const ro = !can("store.operate");
  if (!health.data)
    return (
      <Section title="Coalescing window">
        {health.error ? <ErrorBox error={health.error} /> : <Loading what="coalescing window" />}
      </Section>
    );
  const c = health.data.coalescing;
  const current = value ?? (c.maxWindowMs === null ? "" : String(c.maxWindowMs));
  const e = save.error;
  return (
    <Section title="Coalescing window" id="coalescing">
      <form onSubmit={onSubmit(() => void save.run())}>
        <fieldset disabled={ro}>
          <legend>How long a stock change may wait to be batched</legend>
          <Field
            label="Longest wait (ms)"
            id="coalescing-max"
            field="maxWindowMs"
            error={e}
            hint={`While the store's API budget has room a change is sent at once; as it runs low the wait grows toward this, so updates go out in full batches. Empty: the hub's default (${c.defaultMaxWindowMs} ms). 0 to 60,000.`}
          >
            <input
              {...described("coalescing-max", e, "maxWindowMs", true)}
              inputMode="numeric"
              value={current}
              placeholder={String(c.defaultMaxWindowMs)}
              onInput={(ev) => setValue(ev.currentTarget.value)}
            />
          </Field>
        </fieldset>
        <ErrorBox error={e} placed={(p) => p === "maxWindowMs"} />
        {!ro && (
          <div class="actions">
            <button type="submit" disabled={save.busy || value === null}>
              Save window
            </button>
            {saved && <span role="status">Saved.</span>}
          </div>
        )}
      </form>
    </Section>
  );
}
