/** The audit trail: who changed which setting, flow or access right, when, from what to what. */
import { useState } from "preact/hooks";
import { api, qs } from "../../api.ts";
import { usePoll } from "../../hooks.ts";
import type { StoreView } from "../../types.ts";
import { ErrorBox, fmtTime, More, SelectField, Table } from "../../ui.tsx";

interface AuditItem {
  id: number;
  at: number;
  actor: string;
  storeId: number | null;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
  changed: string[];
}

const show = (v: unknown) =>
  v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v);

/** Before → after of the keys that changed (or of everything when the entry has no keys). */
function change(a: AuditItem): string {
  if (
    a.changed.length > 0 &&
    a.before &&
    a.after &&
    typeof a.before === "object" &&
    typeof a.after === "object"
  ) {
    const b = a.before as Record<string, unknown>;
    const f = a.after as Record<string, unknown>;
    return a.changed.map((k) => `${k}: ${show(b[k])} → ${show(f[k])}`).join("; ");
  }
  if (a.before === null) return show(a.after);
  return `${show(a.before)} → ${show(a.after)}`;
}

export function AuditTable({ store, limit = 50 }: { store?: string; limit?: number }) {
  const [older, setOlder] = useState<AuditItem[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const page = usePoll(
    async () => {
      const r = await api.get<{ items: AuditItem[]; nextBefore: number | null }>(
        `/api/v1/audit${qs({ store, limit })}`,
      );
      if (older.length === 0) setNext(r.nextBefore);
      return r;
    },
    [store, limit],
    5000,
  );
  const more = async () => {
    if (next === null) return;
    const r = await api.get<{ items: AuditItem[]; nextBefore: number | null }>(
      `/api/v1/audit${qs({ store, limit, before: next })}`,
    );
    setOlder((o) => [...o, ...r.items]);
    setNext(r.nextBefore);
  };
  const items = [
    ...(page.data?.items ?? []),
    ...older.filter((o) => !page.data?.items.some((i) => i.id === o.id)),
  ];
  return (
    <>
      <ErrorBox error={page.error} />
      <Table
        caption="Audit trail, newest first"
        headers={["When", "Who", "What", "Target", "Change"]}
        count={items.length}
        empty="Nothing changed yet."
        id="audit-table"
      >
        {items.map((a) => (
          <tr key={a.id} data-action={a.action}>
            <td>{fmtTime(a.at)}</td>
            <td>{a.actor}</td>
            <td>{a.action}</td>
            <td>{a.target ?? "—"}</td>
            <td class="change">{change(a)}</td>
          </tr>
        ))}
      </Table>
      <More next={next} onMore={() => void more()} />
    </>
  );
}

export function AuditScreen() {
  const stores = usePoll(() => api.get<{ items: StoreView[] }>("/api/v1/stores"), [], 0);
  const [store, setStore] = useState("");
  return (
    <>
      <h1>Audit trail</h1>
      <p class="muted">Every change to settings, flows, stores and access, with who made it.</p>
      <div class="toolbar">
        <SelectField
          id="audit-store"
          label="Store"
          value={store}
          onChange={setStore}
          options={stores.data?.items.map((s) => s.domain) ?? []}
          any="All stores and the hub"
        />
      </div>
      <section class="panel" aria-label="Audit entries">
        <AuditTable store={store || undefined} />
      </section>
    </>
  );
}
