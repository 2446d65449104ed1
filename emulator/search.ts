// Shopify's `query:` search syntax, the subset the hub uses: `field:value`, `field:>value`,
// `field:<=value`, quoted values, `-field:value` negation, AND (implicit or explicit) and OR.
// Pure: parse into terms, then match against a record of field values.

export interface Term {
  field: string | null;
  op: ":" | ">" | ">=" | "<" | "<=";
  value: string;
  negate: boolean;
}

/** A disjunction of conjunctions: [[a AND b] OR [c]]. */
export type SearchQuery = Term[][];

function tokenize(q: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < q.length) {
    if (/\s/.test(q[i]!)) {
      i++;
      continue;
    }
    let tok = "";
    while (i < q.length && !/\s/.test(q[i]!)) {
      const ch = q[i]!;
      if (ch === "'" || ch === '"') {
        const end = q.indexOf(ch, i + 1);
        const stop = end === -1 ? q.length : end;
        tok += q.slice(i, stop + 1);
        i = stop + 1;
      } else {
        tok += ch;
        i++;
      }
    }
    out.push(tok);
  }
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && (v[0] === "'" || v[0] === '"') && v[v.length - 1] === v[0]) return v.slice(1, -1);
  return v;
}

export function parseSearch(q: string | null | undefined): SearchQuery {
  if (!q?.trim()) return [];
  const groups: SearchQuery = [[]];
  let notNext = false;
  for (const raw of tokenize(q)) {
    if (raw === "AND") continue;
    if (raw === "NOT") {
      notNext = true;
      continue;
    }
    if (raw === "OR") {
      groups.push([]);
      continue;
    }
    let tok = raw;
    let negate = notNext;
    notNext = false;
    if (tok.startsWith("-")) {
      negate = true;
      tok = tok.slice(1);
    }
    const m = /^([A-Za-z_.]+):(>=|<=|>|<)?(.*)$/.exec(tok);
    const term: Term = m
      ? { field: m[1]!, op: (m[2] as Term["op"]) ?? ":", value: unquote(m[3]!), negate }
      : { field: null, op: ":", value: unquote(tok), negate };
    groups[groups.length - 1]!.push(term);
  }
  return groups.filter((g) => g.length > 0);
}

export type FieldValue = string | number | boolean | null | undefined | readonly string[];

function compare(actual: FieldValue, term: Term): boolean {
  if (Array.isArray(actual)) return actual.some((a) => compare(a, term));
  if (actual === null || actual === undefined) return false;
  const a = String(actual);
  const v = term.value;
  if (term.op === ":") {
    if (v.endsWith("*")) return a.toLowerCase().startsWith(v.slice(0, -1).toLowerCase());
    return a.toLowerCase() === v.toLowerCase();
  }
  // Dates compare as instants, numbers as numbers, anything else as strings.
  const ta = Date.parse(a);
  const tv = Date.parse(v);
  let cmp: number;
  if (typeof actual === "number" && !Number.isNaN(Number(v))) cmp = actual - Number(v);
  else if (!Number.isNaN(ta) && !Number.isNaN(tv) && /\d{4}-\d{2}-\d{2}/.test(v)) cmp = ta - tv;
  else cmp = a < v ? -1 : a > v ? 1 : 0;
  switch (term.op) {
    case ">":
      return cmp > 0;
    case ">=":
      return cmp >= 0;
    case "<":
      return cmp < 0;
    case "<=":
      return cmp <= 0;
  }
}

/**
 * Does a record match? `fields` maps a search field name to its value(s); `text` is what a bare word
 * matches. Unknown fields throw, so a query the emulator cannot honour is never silently ignored.
 */
export function matches(
  query: SearchQuery,
  fields: Record<string, FieldValue>,
  text: readonly string[] = [],
  known?: ReadonlySet<string>,
): boolean {
  if (query.length === 0) return true;
  return query.some((group) =>
    group.every((term) => {
      let hit: boolean;
      if (term.field === null) {
        const needle = term.value.toLowerCase();
        hit = text.some((t) => t.toLowerCase().includes(needle));
      } else {
        if (known && !known.has(term.field)) {
          throw new Error(`Tillbridge emulator: search field '${term.field}' is not implemented`);
        }
        hit = compare(fields[term.field], term);
      }
      return term.negate ? !hit : hit;
    }),
  );
}
