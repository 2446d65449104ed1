/** A cursor-paged list (`nextCursor`): the first page polls live, "Load more" appends older pages. */
import { useState } from "preact/hooks";
import { api } from "./api.ts";
import { useAction, usePoll } from "./hooks.ts";

export interface Paged<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export function usePaged<T>(url: string | null, key: (t: T) => string | number, intervalMs = 10_000) {
  const [older, setOlder] = useState<{ url: string | null; items: T[]; next: string | null }>({
    url: null,
    items: [],
    next: null,
  });
  const first = usePoll(async () => (url ? api.get<Paged<T>>(url) : null), [url], url ? intervalMs : 0);
  const mine = older.url === url ? older : { url, items: [], next: null };
  const next = mine.items.length > 0 ? mine.next : (first.data?.nextCursor ?? null);
  const more = useAction(async () => {
    if (!url || !next) return;
    const sep = url.includes("?") ? "&" : "?";
    const r = await api.get<Paged<T>>(`${url}${sep}cursor=${encodeURIComponent(next)}`);
    setOlder({ url, items: [...mine.items, ...r.items], next: r.nextCursor });
  });
  const seen = new Set((first.data?.items ?? []).map(key));
  const items = [...(first.data?.items ?? []), ...mine.items.filter((i) => !seen.has(key(i)))];
  return { items, next, more, first };
}
