// Shared pieces of the resolver map: the context, explicit field readers, connections, user errors.
import { GraphQLError, type GraphQLResolveInfo } from "graphql";
import type { App, Shop, Store } from "../state.ts";

export interface Ctx {
  store: Store;
  shop: Shop;
  app: App;
  scopes: ReadonlySet<string>;
  baseUrl: string;
  /** Bulk operations read whole connections: `first`/`last` are neither required nor applied. */
  bulk: boolean;
  now: string;
}

// biome-ignore lint/suspicious/noExplicitAny: resolvers receive untyped GraphQL sources and args
export type Resolver = (source: any, args: any, ctx: Ctx, info: GraphQLResolveInfo) => unknown;
export type TypeResolvers = Record<string, Resolver>;
export type ResolverMap = Record<string, TypeResolvers>;

/** Fields read straight off the source object, listed explicitly so everything else stays "not implemented". */
export function plain(...names: string[]): TypeResolvers {
  const out: TypeResolvers = {};
  for (const n of names) out[n] = (src) => (src as Record<string, unknown>)[n] ?? null;
  return out;
}

export function notImplemented(typeName: string, fieldName: string): GraphQLError {
  return new GraphQLError(`Tillbridge emulator: field ${typeName}.${fieldName} is not implemented`, {
    extensions: { code: "NOT_IMPLEMENTED" },
  });
}

export function gqlError(message: string, code: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

// Abstract types (Node, interfaces, unions) need to know the concrete type of a model object.
const typeTags = new WeakMap<object, string>();
export function tag<T extends object>(obj: T, typeName: string): T {
  typeTags.set(obj, typeName);
  return obj;
}
export function typeOf(obj: unknown): string | undefined {
  if (obj && typeof obj === "object") {
    const t = typeTags.get(obj);
    if (t) return t;
    const tn = (obj as Record<string, unknown>)["__typename"];
    if (typeof tn === "string") return tn;
  }
  return undefined;
}

export interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  reverse?: boolean | null;
}

export const MAX_PAGE = 250;

function encodeCursor(key: string | number): string {
  return Buffer.from(JSON.stringify({ k: key }), "utf8").toString("base64url");
}
function decodeCursor(c: string): string | number {
  try {
    const v = JSON.parse(Buffer.from(c, "base64url").toString("utf8")) as { k?: unknown };
    if (typeof v.k === "string" || typeof v.k === "number") return v.k;
  } catch {
    // fall through
  }
  throw gqlError("Invalid cursor for current pagination sort.", "BAD_REQUEST");
}

/** A sort key that orders by `value` then by id (ids zero-padded so strings compare like numbers). */
export function sortKey(value: string | number, id: number): string {
  const v = typeof value === "number" ? String(value).padStart(20, "0") : value;
  return `${v}|${String(id).padStart(20, "0")}`;
}

function cmp(a: string | number, b: string | number): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A Relay connection. Items are ordered by `keyOf` (ascending, or descending with `reverse`) and the
 * cursor carries that key, so `after` means "strictly past this position" even when the item itself
 * has since moved or gone (what polling by updated_at relies on).
 */
export function connection<T>(
  items: readonly T[],
  args: PageArgs,
  ctx: Ctx,
  keyOf: (t: T) => string | number,
) {
  const hasFirst = typeof args.first === "number";
  const hasLast = typeof args.last === "number";
  if (!ctx.bulk) {
    if (!hasFirst && !hasLast) throw gqlError("you must provide one of first or last", "BAD_REQUEST");
    if ((args.first ?? 0) > MAX_PAGE || (args.last ?? 0) > MAX_PAGE) {
      throw gqlError(`The value for first/last must not exceed ${MAX_PAGE}.`, "BAD_REQUEST");
    }
  }
  const dir = args.reverse ? -1 : 1;
  if (ctx.bulk && !args.after && !args.before) {
    // A bulk read takes the whole list: when it is in key order already (the usual case), keys
    // are compared pairwise and neither a key nor an edge is kept per item (arrays of 100,000
    // keys and edges outlived young-generation collections and piled up as old garbage).
    let inOrder = true;
    let prev = items.length > 0 ? keyOf(items[0]!) : 0;
    for (let i = 1; i < items.length && inOrder; i++) {
      const k = keyOf(items[i]!);
      if (dir * cmp(prev, k) > 0) inOrder = false;
      prev = k;
    }
    if (inOrder) {
      const pageInfo = {
        hasNextPage: false,
        hasPreviousPage: false,
        get startCursor() {
          return items.length > 0 ? encodeCursor(keyOf(items[0]!)) : null;
        },
        get endCursor() {
          return items.length > 0 ? encodeCursor(keyOf(items[items.length - 1]!)) : null;
        },
      };
      return {
        nodes: items,
        get edges() {
          return items.map((node) => new Edge(node, keyOf(node)));
        },
        pageInfo,
      };
    }
  }
  // Each item's key is computed once (a bulk read of 500,000 levels called keyOf millions of
  // times). Items usually come in key order already (ids grow): checked in one pass and sorted
  // only when not, then the cursors are found by binary search, so paging a large list is
  // linear, not n log n per page.
  let keys = items.map(keyOf);
  let ordered = items;
  let inOrder = true;
  for (let i = 1; i < keys.length && inOrder; i++) if (dir * cmp(keys[i - 1]!, keys[i]!) > 0) inOrder = false;
  if (!inOrder) {
    const index = keys.map((_, i) => i).sort((a, b) => dir * cmp(keys[a]!, keys[b]!));
    ordered = index.map((i) => items[i]!);
    keys = index.map((i) => keys[i]!);
  }
  /** First index whose key is beyond `k` (strictly, or at-or-beyond when `inclusive`). */
  const boundary = (k: string | number, inclusive: boolean) => {
    let lo = 0;
    let hi = ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = dir * cmp(keys[mid]!, k);
      if (c > 0 || (inclusive && c === 0)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  let start = args.after ? boundary(decodeCursor(args.after), false) : 0;
  let end = args.before ? boundary(decodeCursor(args.before), true) : ordered.length;
  if (end < start) end = start;
  let hasNextPage = args.before ? end < ordered.length : false;
  let hasPreviousPage = args.after ? start > 0 : false;
  if (!ctx.bulk && hasFirst) {
    if (end - start > args.first!) hasNextPage = true;
    end = Math.min(end, start + Math.max(0, args.first!));
  }
  if (!ctx.bulk && hasLast) {
    if (end - start > args.last!) hasPreviousPage = true;
    start = Math.max(start, end - args.last!);
  }
  const nodes = ordered.slice(start, end);
  // Cursors are encoded only when asked for (a bulk read selects none).
  const edges = nodes.map((node, i) => new Edge(node, keys[start + i]!));
  return {
    edges,
    nodes,
    pageInfo: {
      hasNextPage,
      hasPreviousPage,
      startCursor: nodes.length > 0 ? encodeCursor(keys[start]!) : null,
      endCursor: nodes.length > 0 ? encodeCursor(keys[end - 1]!) : null,
    },
  };
}

class Edge<T> {
  constructor(
    readonly node: T,
    private readonly key: string | number,
  ) {}
  get cursor(): string {
    return encodeCursor(this.key);
  }
}

export function userError(message: string, field: string[] | null, code?: string) {
  return code === undefined ? { message, field } : { message, field, code };
}

export function money(amount: string | number, currencyCode: string) {
  const a = typeof amount === "number" ? amount.toFixed(2) : amount;
  return { amount: a, currencyCode };
}

export function moneyBag(amount: string | number, currencyCode: string) {
  const m = money(amount, currencyCode);
  return { shopMoney: m, presentmentMoney: m };
}
