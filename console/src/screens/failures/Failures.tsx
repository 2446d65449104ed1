/**
 * Everything that failed, in one place (GET /api/v1/failures): dead webhook deliveries, order
 * notifications not delivered, parked orders, quantities Shopify refused, link problems and failed
 * jobs, each with the call that resolves it (replay, retry, link again, run again) and a way to
 * dismiss it with a reason (kept in the audit trail).
 */
import { useState } from "preact/hooks";
import { type ApiError, api, qs, request } from "../../api.ts";
import { usePoll } from "../../hooks.ts";
import { usePaged } from "../../hooksPaged.ts";
import { href } from "../../router.ts";
import { useSession } from "../../session.tsx";
import { failuresSentence } from "../../summaries.ts";
import type { StoreView } from "../../types.ts";
import { asApiError, ErrorBox, fmtTime, More, onSubmit, SelectField, Table } from "../../ui.tsx";

const KINDS = {
  dead_letter: "Webhook deliveries that gave up",
  outbound_dead: "Notifications not delivered",
  parked_order: "Orders not imported",
  failing_item: "Quantities Shopify refused",
  link_problem: "Link problems",
  failed_job: "Failed jobs",
} as const;
type Kind = keyof typeof KINDS;

const ONE: Record<Kind, string> = {
  dead_letter: "webhook delivery that gave up",
  outbound_dead: "notification not delivered",
  parked_order: "order not imported",
  failing_item: "quantity Shopify refused",
  link_problem: "link problem",
  failed_job: "failed job",
};

interface Failure {
  kind: Kind;
  id: string;
  store: string | null;
  summary: string;
  reason: string | null;
  since: number | null;
  action: { label: string; method: "POST"; url: string; body?: Record<string, unknown> } | null;
}

const LABELS = Object.fromEntries(
  (Object.keys(KINDS) as Kind[]).map((k) => [k, { one: ONE[k], many: KINDS[k].toLowerCase() }]),
);

type Page = { items: Failure[]; counts: Record<Kind, number>; nextCursor: string | null };

const keyOf = (f: Failure) => `${f.kind}:${f.id}`;

export function FailuresScreen() {
  const { can } = useSession();
  const stores = usePoll(() => api.get<{ items: StoreView[] }>("/api/v1/stores"), [], 0);
  const [store, setStore] = useState("");
  const [kind, setKind] = useState("");
  const list = usePaged<Failure>(`/api/v1/failures${qs({ store, kind, limit: 100 })}`, keyOf, 5000);
  const counts = (list.first.data as Page | null | undefined)?.counts;
  const [busy, setBusy] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, ApiError>>({});
  const [done, setDone] = useState<string | null>(null);
  const [dismissing, setDismissing] = useState<string | null>(null);
  const [reason, setReason] = useState("");
  const operate = can("store.operate");

  const run = async (f: Failure, label: string, call: () => Promise<unknown>) => {
    const key = keyOf(f);
    setBusy(key);
    setDone(null);
    try {
      await call();
      setErrors(({ [key]: _, ...rest }) => rest);
      setDone(label);
      setDismissing(null);
      setReason("");
      await list.first.reload();
    } catch (e) {
      setErrors((all) => ({ ...all, [key]: asApiError(e) }));
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <h1>Failures</h1>
      <p id="failures-summary">{counts ? failuresSentence(counts, LABELS) : "Loading…"}</p>
      <div class="toolbar">
        <div class="field inline">
          <label for="failure-kind">Kind</label>
          <select id="failure-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="">All kinds</option>
            {(Object.keys(KINDS) as Kind[]).map((k) => (
              <option key={k} value={k}>
                {KINDS[k]} ({counts?.[k] ?? 0})
              </option>
            ))}
          </select>
        </div>
        <SelectField
          id="failure-store"
          label="Store"
          value={store}
          onChange={setStore}
          options={stores.data?.items.map((s) => s.domain) ?? []}
          any="All stores"
        />
      </div>
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      <ErrorBox error={list.first.error ?? list.more.error} />
      <section class="panel" aria-label="Failures found">
        <Table
          caption="Failures, each with what resolves it"
          headers={["Kind", "Store", "What", "Reason", "Since", "Action"]}
          count={list.items.length}
          empty={
            kind || store
              ? "Nothing of this kind or store needs attention."
              : "Nothing needs attention: failed deliveries, parked orders, refused quantities, link problems and failed jobs show up here, each with what resolves it."
          }
          id="failures-table"
        >
          {list.items.map((f) => {
            const key = keyOf(f);
            return (
              <tr key={key} data-failure={key} data-kind={f.kind}>
                <td>{ONE[f.kind] ? ONE[f.kind][0]!.toUpperCase() + ONE[f.kind].slice(1) : f.kind}</td>
                <td>
                  {f.store ? <a href={href(`/stores/${encodeURIComponent(f.store)}`)}>{f.store}</a> : "—"}
                </td>
                <td>{f.summary}</td>
                <td>{f.reason ?? ""}</td>
                <td>{fmtTime(f.since)}</td>
                <td>
                  {operate && (
                    <div class="actions">
                      {f.action && (
                        <button
                          type="button"
                          disabled={busy !== null}
                          onClick={() =>
                            void run(f, `${f.action!.label}: done.`, () =>
                              request(f.action!.method, f.action!.url, f.action!.body ?? {}),
                            )
                          }
                        >
                          {f.action.label}
                        </button>
                      )}
                      {dismissing !== key && (
                        <button
                          type="button"
                          class="secondary"
                          disabled={busy !== null}
                          onClick={() => setDismissing(key)}
                        >
                          Dismiss
                        </button>
                      )}
                    </div>
                  )}
                  {dismissing === key && (
                    <form
                      onSubmit={onSubmit(
                        () =>
                          void run(f, "Dismissed.", () =>
                            api.post("/api/v1/failures/dismiss", { kind: f.kind, id: f.id, reason }),
                          ),
                      )}
                    >
                      <label for={`reason-${key}`}>Why dismiss it?</label>
                      <input
                        id={`reason-${key}`}
                        required
                        value={reason}
                        onInput={(e) => setReason(e.currentTarget.value)}
                      />
                      <div class="actions">
                        <button type="submit" disabled={busy !== null}>
                          Dismiss with this reason
                        </button>
                        <button type="button" class="secondary" onClick={() => setDismissing(null)}>
                          Keep it
                        </button>
                      </div>
                    </form>
                  )}
                  {errors[key] && <ErrorBox error={errors[key]} />}
                </td>
              </tr>
            );
          })}
        </Table>
        <More next={list.next} onMore={() => void list.more.run()} busy={list.more.busy} />
      </section>
    </>
  );
}
