// Bulk query operations: the inner query runs over every page of every connection, and the result is
// a JSONL file (one line per node; nested connection nodes carry `__parentId`) served by the emulator.
//
// Executed in slices, never in one piece: graphql-js over a whole store (500,000 levels) blocked the
// emulator for 48 s and built a 1.45 GB result tree. Each slice is one graphql-js execution of at
// most a page of a connection: each connection of the query is resolved once (its whole list, as
// a bulk read does), kept until read to its end, and handed out a page per execution; nested
// connections are continued through `node(id:)` of their parent. Each slice's lines are appended
// to the result file on disk and the event loop runs between slices, so the emulator keeps
// answering while it works and holds one slice's result at a time.
import { rmSync } from "node:fs";
import { open, stat } from "node:fs/promises";
import {
  type ArgumentNode,
  type DocumentNode,
  execute,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isInterfaceType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionNode,
  type SelectionSetNode,
  validate,
} from "graphql";
import { makeFieldResolver, typeResolver } from "../admin-api.ts";
import { resultFile } from "../bulk-files.ts";
import { heldBulkStarts } from "../bulk-hold.ts";
import { bulkQueryProblem } from "../bulk-validation.ts";
import { gid, parseGid } from "../gid.ts";
import { adminSchema } from "../schema.ts";
import { matches, parseSearch } from "../search.ts";
import type { BulkOperation } from "../state.ts";
import { allResolvers } from "./index.ts";
import {
  type Ctx,
  connection,
  gqlError,
  type PageArgs,
  type ResolverMap,
  sortKey,
  userError,
} from "./kit.ts";
import { NODE_TYPES } from "./node.ts";

/**
 * Bulk query operations an app may run at once in a shop: "In API versions 2026-01 and higher,
 * you can run up to five bulk query operations at a time per shop" (shopify.dev, bulk operations
 * guide, Limitations; one before 2026-01, a version the emulator no longer serves as supported).
 * Counted per app, as Shopify does: other apps' operations never use up this app's five.
 */
export const MAX_CONCURRENT_BULK = 5;

/** Nodes per slice: a connection's page in one graphql-js execution. */
export const BULK_SLICE = {
  /** Root connection pages whose nodes carry nested connections (each up to `nested` lines more). */
  rootWithNested: 250,
  /** Root connection pages of flat nodes. */
  root: 1000,
  /** The first page of a nested connection, executed with its parent. */
  nested: 250,
  /**
   * Further pages of a nested connection, read through `node(id:)` of its parent. Small: a
   * slice's result outlives the young generation's collections while it executes, and 2,000
   * levels a slice left the emulator at 720 MB RSS reading 500,000 levels (500: 490 MB).
   */
  continued: 500,
};

type Json = Record<string, unknown>;

/** Aliases the rewritten query uses (kept out of the result lines). */
const ID = "tillbridgeBulkId";
const NODES = "tillbridgeBulkNodes";
const PAGE = "tillbridgeBulkPage";
const CONN = "tillbridgeBulkC";

const name = (value: string) => ({ kind: Kind.NAME, value }) as const;
const field = (
  fieldName: string,
  alias?: string,
  selections?: readonly SelectionNode[],
  args: readonly ArgumentNode[] = [],
): FieldNode => ({
  kind: Kind.FIELD,
  name: name(fieldName),
  ...(alias ? { alias: name(alias) } : {}),
  arguments: args,
  ...(selections ? { selectionSet: { kind: Kind.SELECTION_SET, selections } } : {}),
});
const stringArg = (n: string, v: string): ArgumentNode => ({
  kind: Kind.ARGUMENT,
  name: name(n),
  value: { kind: Kind.STRING, value: v },
});
const PAGING_ARGS = new Set(["first", "last", "after", "before"]);

/** A connection of the query: how to ask for one more page of it. */
interface ConnectionPlan {
  /** The rewritten field, without the query's own paging arguments. */
  readonly field: FieldNode;
  /** Nodes in the page a slice reads when it does not continue this connection. */
  readonly firstPage: number;
  /** The type the field is selected on (`... on T` when continued through `node(id:)`). */
  readonly parentType: string;
  /** Whether further pages can be read through `node(id:)` of the parent. */
  readonly continuable: boolean;
}

function isConnectionType(t: GraphQLObjectType): boolean {
  const f = t.getFields();
  return t.name.endsWith("Connection") && "nodes" in f && "pageInfo" in f;
}

function hasId(t: GraphQLNamedType | null | undefined): boolean {
  return (isObjectType(t) || isInterfaceType(t)) && "id" in t.getFields();
}

/**
 * Rewrites a bulk query's selections for paging: every connection becomes
 * `tillbridgeBulkC<i>: field(…) { tillbridgeBulkNodes: nodes { … } tillbridgeBulkPage: pageInfo { … } }`
 * (its `i` names its plan), fragments are inlined, and every object with an id selects it (the
 * parent id of nested lines, and where a continued page starts).
 */
class Rewriter {
  readonly plans: ConnectionPlan[] = [];

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly nodeTypes: ReadonlySet<string>,
  ) {}

  selection(set: SelectionSetNode, typeName: string, depth: number): SelectionSetNode {
    const type = this.schema.getType(typeName);
    const fields = type && "getFields" in type ? (type as GraphQLObjectType).getFields() : {};
    const out: SelectionNode[] = [];
    if ("id" in fields) out.push(field("id", ID));
    for (const s of set.selections) {
      if (s.kind === Kind.FRAGMENT_SPREAD) {
        const f = this.fragments.get(s.name.value);
        if (f)
          out.push({
            kind: Kind.INLINE_FRAGMENT,
            typeCondition: f.typeCondition,
            selectionSet: this.selection(f.selectionSet, f.typeCondition.name.value, depth),
          });
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        const on = s.typeCondition?.name.value ?? typeName;
        out.push({ ...s, selectionSet: this.selection(s.selectionSet, on, depth) });
      } else {
        const def = fields[s.name.value];
        const named = def ? getNamedType(def.type) : undefined;
        if (!s.selectionSet || !named) out.push(s);
        else if (isObjectType(named) && isConnectionType(named))
          out.push(this.connection(s, named, typeName, depth));
        else out.push({ ...s, selectionSet: this.selection(s.selectionSet, named.name, depth) });
      }
    }
    return { kind: Kind.SELECTION_SET, selections: out };
  }

  /** The connection's field, aliased to its plan; its first page is asked for here (root: by the caller). */
  private connection(s: FieldNode, type: GraphQLObjectType, parentType: string, depth: number): FieldNode {
    const nodeType = getNamedType(type.getFields()["nodes"]!.type);
    const inner = this.nodeSelection(s);
    const index = this.plans.length;
    const plans = this.plans;
    plans.push(undefined as unknown as ConnectionPlan);
    const selections = [
      field(
        "nodes",
        NODES,
        inner ? this.selection(inner, nodeType.name, depth + 1).selections : [field("__typename")],
      ),
      field("pageInfo", PAGE, [field("hasNextPage"), field("endCursor")]),
    ];
    const base = field(
      s.name.value,
      `${CONN}${index}`,
      selections,
      (s.arguments ?? []).filter((a) => !PAGING_ARGS.has(a.name.value)),
    );
    const parent = this.schema.getType(parentType);
    const continuable = depth > 0 && hasId(parent) && this.nodeTypes.has(parentType);
    // A nested connection whose later pages could not be read (no `node(id:)` for its parent's
    // type) is read whole with its parent.
    const firstPage =
      depth === 0
        ? JSON.stringify(selections).includes(CONN)
          ? BULK_SLICE.rootWithNested
          : BULK_SLICE.root
        : continuable
          ? BULK_SLICE.nested
          : Number.POSITIVE_INFINITY;
    plans[index] = { field: base, parentType, continuable, firstPage };
    return base;
  }

  /** The selection under `edges { node { … } }` or `nodes { … }`. */
  private nodeSelection(s: FieldNode): SelectionSetNode | undefined {
    for (const sel of s.selectionSet?.selections ?? []) {
      if (sel.kind !== Kind.FIELD) continue;
      if (sel.name.value === "nodes") return sel.selectionSet;
      if (sel.name.value === "edges")
        for (const e of sel.selectionSet?.selections ?? [])
          if (e.kind === Kind.FIELD && e.name.value === "node") return e.selectionSet;
    }
    return undefined;
  }
}

/** A page of a nested connection still to read: its parent and where the last page ended. */
interface Continuation {
  readonly plan: number;
  /** The object the connection is a field of (read through `node(id:)`). */
  readonly holderId: string;
  /** The `__parentId` of its nodes: the nearest node with an id on a line of its own. */
  readonly parentId: string | undefined;
  readonly after: string;
}

/**
 * Turns executed slices into lines: one per node (its nested connections left out), the nodes of
 * nested connections on lines of their own after it with `__parentId`; pages still to read are
 * noted as continuations.
 */
/** JSON.stringify's replacer: the executor's own fields are not part of a line. */
function omitAliases(key: string, value: unknown): unknown {
  return key === ID || key.startsWith(CONN) ? undefined : value;
}

class LineWriter {
  text = "";
  lines = 0;
  roots = 0;
  readonly continuations: Continuation[] = [];

  constructor(private readonly plans: readonly ConnectionPlan[]) {}

  root(node: Json): void {
    this.roots++;
    this.node(node, undefined);
  }

  /** The nodes of one page of connection `c` (a `tillbridgeBulkC<i>` value) under `parentId`. */
  page(value: Json, plan: number, parentId: string | undefined, holderId: string | undefined): void {
    for (const n of (value[NODES] as Json[] | null) ?? []) this.node(n, parentId);
    const info = value[PAGE] as { hasNextPage?: boolean; endCursor?: string | null } | undefined;
    if (info?.hasNextPage && info.endCursor && holderId && this.plans[plan]!.continuable)
      this.continuations.push({ plan, holderId, parentId, after: info.endCursor });
  }

  node(node: Json, parentId: string | undefined): void {
    const ownId = typeof node[ID] === "string" ? (node[ID] as string) : parentId;
    // The nested connections first (found without copying the node), then the line written by
    // JSON.stringify leaving out the executor's aliases: no copy of each node per line.
    const later: [Json, number, string | undefined][] = [];
    const find = (obj: Json, holderId: string | undefined) => {
      for (const k in obj) {
        const v = obj[k];
        if (!v || typeof v !== "object") continue;
        if (k.startsWith(CONN)) later.push([v as Json, Number(k.slice(CONN.length)), holderId]);
        else if (!Array.isArray(v)) {
          const inner = v as Json;
          find(inner, typeof inner[ID] === "string" ? (inner[ID] as string) : undefined);
        }
      }
    };
    find(node, ownId);
    const json = JSON.stringify(node, omitAliases);
    this.text +=
      parentId === undefined
        ? `${json}\n`
        : `${json.length > 2 ? `${json.slice(0, -1)},` : "{"}"__parentId":${JSON.stringify(parentId)}}\n`;
    this.lines++;
    for (const [value, plan, holderId] of later) this.page(value, plan, ownId, holderId);
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Result files kept per shop: the latest few. Shopify keeps them for a week; an emulator keeping
 * every one (a 500,000-level store's file is some 70 MB) would fill its disk with each read.
 * Older completed operations become EXPIRED, as Shopify's do after their week.
 */
export const BULK_RESULTS_KEPT = 3;

function expireOldResults(shop: Ctx["shop"]): void {
  const completed = [...shop.bulkOperations.values()].filter((b) => b.status === "COMPLETED");
  for (const b of completed.slice(0, Math.max(0, completed.length - BULK_RESULTS_KEPT))) {
    b.status = "EXPIRED";
    if (b.file) rmSync(b.file, { force: true });
    b.file = null;
  }
}

class SliceError extends Error {
  constructor(readonly errors: readonly GraphQLError[]) {
    super(errors.map((e) => e.message).join("; "));
  }
}

async function run(ctx: Ctx, op: BulkOperation, groupObjects = false): Promise<void> {
  op.status = "RUNNING";
  const schema = adminSchema();
  const doc = parse(op.query);
  const operation = doc.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  )!;
  const fragments = new Map(
    doc.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((f) => [f.name.value, f]),
  );
  const rewriter = new Rewriter(schema, fragments, NODE_TYPES);
  const rootSelection = rewriter
    .selection(operation.selectionSet, "QueryRoot", 0)
    .selections.filter((s): s is FieldNode => s.kind === Kind.FIELD && s.alias?.value !== ID);
  const resolve = makeFieldResolver(allResolvers(), schema);
  const rootValue = {};
  // Each connection's whole list, by the object it is a field of and its plan, from its first
  // page until its last (resolving a 100,000-level list again for each page was quadratic).
  const lists = new WeakMap<object, Map<number, readonly unknown[]>>();
  /** The page each plan reads in the current slice (offset, size); others read their first page. */
  let pages = new Map<number, { offset: number; size: number }>();
  const fieldResolver: GraphQLFieldResolver<unknown, Ctx> = (source, args, c, info) => {
    const alias = info.fieldNodes[0]?.alias?.value;
    if (!alias?.startsWith(CONN)) return resolve(source, args, c, info);
    const plan = Number(alias.slice(CONN.length));
    const holder = (source ?? rootValue) as object;
    let byPlan = lists.get(holder);
    if (!byPlan) {
      byPlan = new Map();
      lists.set(holder, byPlan);
    }
    const held = byPlan;
    const page = (all: readonly unknown[]) => {
      const { offset, size } = pages.get(plan) ?? { offset: 0, size: rewriter.plans[plan]!.firstPage };
      const nodes = all.slice(offset, offset + size);
      const end = offset + nodes.length;
      const hasNextPage = end < all.length;
      if (hasNextPage) held.set(plan, all);
      else held.delete(plan);
      return { nodes, pageInfo: { hasNextPage, endCursor: hasNextPage ? String(end) : null } };
    };
    const known = held.get(plan);
    if (known) return page(known);
    const whole = (conn: unknown) => {
      if (!conn) return null;
      const cn = conn as { nodes?: unknown[]; edges?: { node: unknown }[] };
      return page(cn.nodes ?? (cn.edges ?? []).map((e) => e.node));
    };
    const conn = resolve(source, args, c, info);
    return conn instanceof Promise ? conn.then(whole) : whole(conn);
  };
  const slice = async (
    selections: readonly SelectionNode[],
    read: Map<number, { offset: number; size: number }> = new Map(),
  ): Promise<Json> => {
    await nextTurn();
    pages = read;
    const document: DocumentNode = {
      kind: Kind.DOCUMENT,
      definitions: [
        {
          kind: Kind.OPERATION_DEFINITION,
          operation: operation.operation,
          selectionSet: { kind: Kind.SELECTION_SET, selections },
        },
      ],
    };
    const result = await execute({
      schema,
      document,
      rootValue,
      contextValue: { ...ctx, bulk: true, now: ctx.store.nowIso() },
      fieldResolver,
      typeResolver,
    });
    if (result.errors?.length || !result.data) throw new SliceError(result.errors ?? []);
    return result.data as Json;
  };

  const path = resultFile(ctx.store, ctx.shop.domain, op.id);
  const file = await open(path, "w");
  const out = new LineWriter(rewriter.plans);
  const flush = async () => {
    if (out.text) await file.write(out.text);
    out.text = "";
  };
  /** Reads every page still waiting under the nodes written so far, each page a slice. */
  const drain = async () => {
    for (let c = out.continuations.pop(); c; c = out.continuations.pop()) {
      const plan = rewriter.plans[c.plan]!;
      const data = await slice(
        [
          field(
            "node",
            undefined,
            [
              {
                kind: Kind.INLINE_FRAGMENT,
                typeCondition: { kind: Kind.NAMED_TYPE, name: name(plan.parentType) },
                selectionSet: { kind: Kind.SELECTION_SET, selections: [plan.field] },
              },
            ],
            [stringArg("id", c.holderId)],
          ),
        ],
        new Map([[c.plan, { offset: Number(c.after), size: BULK_SLICE.continued }]]),
      );
      const holder = data["node"] as Json | null;
      const value = holder?.[plan.field.alias!.value] as Json | undefined;
      if (!value) throw new Error(`a page of ${plan.field.name.value} under ${c.holderId} could not be read`);
      out.page(value, c.plan, c.parentId, c.holderId);
      await flush();
    }
  };
  try {
    for (const root of rootSelection) {
      const key = root.alias?.value ?? root.name.value;
      if (key.startsWith(CONN)) {
        const plan = Number(key.slice(CONN.length));
        let after: string | null = null;
        do {
          const data = await slice(
            [root],
            new Map([[plan, { offset: Number(after ?? 0), size: rewriter.plans[plan]!.firstPage }]]),
          );
          const value = data[key] as Json | null;
          const nodes = (value?.[NODES] as Json[] | null) ?? [];
          // groupObjects: each node's further nested pages right after it (Shopify's grouping);
          // otherwise after the page, as the slices come.
          for (const n of nodes) {
            out.root(n);
            if (groupObjects) await drain();
          }
          await flush();
          await drain();
          const info = value?.[PAGE] as { hasNextPage?: boolean; endCursor?: string | null } | undefined;
          after = info?.hasNextPage && info.endCursor ? info.endCursor : null;
        } while (after);
      } else if (root.selectionSet) {
        const data = await slice([root]);
        const value = data[key];
        if (value && typeof value === "object") {
          out.root(value as Json);
          await flush();
          await drain();
        }
      }
    }
    await file.close();
    op.file = path;
    op.objectCount = out.lines;
    op.rootObjectCount = out.roots;
    op.fileSize = (await stat(path)).size;
    op.completedAt = ctx.store.nowIso();
    op.status = "COMPLETED";
    expireOldResults(ctx.shop);
  } catch (e) {
    await file.close().catch(() => {});
    rmSync(path, { force: true });
    op.completedAt = ctx.store.nowIso();
    op.status = "FAILED";
    const errors = e instanceof SliceError ? e.errors : [];
    op.errorCode = errors.some((x) => x.extensions["code"] === "ACCESS_DENIED")
      ? "ACCESS_DENIED"
      : "INTERNAL_SERVER_ERROR";
    op.errorMessage = e instanceof SliceError ? e.message || "no data" : String(e);
  }
  ctx.store.emit(ctx.shop, "bulk_operations/finish", {
    admin_graphql_api_id: gid("BulkOperation", op.id),
    completed_at: op.completedAt,
    created_at: op.createdAt,
    error_code: op.errorCode ? op.errorCode.toLowerCase() : null,
    status: op.status.toLowerCase(),
    type: "query",
  });
}

function runQuery(ctx: Ctx, args: { query: string; groupObjects: boolean }) {
  const schema = adminSchema();
  let errors: readonly GraphQLError[] = [];
  try {
    const doc = parse(args.query);
    errors = validate(schema, doc);
    const op = doc.definitions.find((d) => d.kind === "OperationDefinition");
    if (!errors.length && op?.operation !== "query") {
      return {
        bulkOperation: null,
        userErrors: [userError("Bulk operations must be queries.", ["query"], "INVALID")],
      };
    }
  } catch (e) {
    return {
      bulkOperation: null,
      userErrors: [userError(`Invalid bulk query: ${(e as Error).message}`, ["query"], "INVALID")],
    };
  }
  if (errors.length) {
    return {
      bulkOperation: null,
      userErrors: [userError(`Invalid bulk query: ${errors[0]!.message}`, ["query"], "INVALID")],
    };
  }
  const problem = bulkQueryProblem(schema, parse(args.query));
  if (problem) return { bulkOperation: null, userErrors: [userError(problem, ["query"], "INVALID")] };
  const running = mine(ctx).filter(
    (b) => opType(b) === "QUERY" && (b.status === "CREATED" || b.status === "RUNNING"),
  );
  if (running.length >= MAX_CONCURRENT_BULK) {
    // BulkOperationUserErrorCode.LIMIT_REACHED: "Bulk operations limit reached. Please try again later."
    return {
      bulkOperation: null,
      userErrors: [
        userError(
          `Bulk operations limit reached. Please try again later. An app can run ${MAX_CONCURRENT_BULK} bulk query operations at a time per shop (running: ${running.map((b) => gid("BulkOperation", b.id)).join(", ")}).`,
          null,
          "LIMIT_REACHED",
        ),
      ],
    };
  }
  const op: BulkOperation = {
    id: ctx.store.nextId(),
    appId: ctx.app.id,
    query: args.query,
    status: "CREATED",
    errorCode: null,
    errorMessage: null,
    objectCount: 0,
    rootObjectCount: 0,
    fileSize: null,
    file: null,
    createdAt: ctx.now,
    completedAt: null,
  };
  ctx.shop.bulkOperations.set(op.id, op);
  // Runs after this response, as on Shopify; poll bulkOperation(id:) or wait for bulk_operations/finish.
  const start = () =>
    run(ctx, op, args.groupObjects).catch((e: unknown) => {
      op.status = "FAILED";
      op.errorMessage = String(e);
      op.errorCode = "INTERNAL_SERVER_ERROR";
    });
  const waiting = heldBulkStarts(ctx.shop);
  if (waiting) waiting.push(start);
  else setImmediate(start);
  return { bulkOperation: { ...op }, userErrors: [] };
}

/** QUERY, or MUTATION for a bulk mutation (resolvers/bulk-mutation.ts tags those). */
function opType(b: BulkOperation): "QUERY" | "MUTATION" {
  return (b as { type?: string }).type === "MUTATION" ? "MUTATION" : "QUERY";
}

function mine(ctx: Ctx): BulkOperation[] {
  return [...ctx.shop.bulkOperations.values()].filter((b) => b.appId === ctx.app.id);
}

/** `bulkOperations(query:)`: the search fields its documentation lists. */
const BULK_SEARCH = new Set(["created_at", "id", "operation_type", "status"]);

function listBulkOperations(
  ctx: Ctx,
  args: PageArgs & { query?: string | null; sortKey?: "CREATED_AT" | "COMPLETED_AT" | null },
) {
  let q: ReturnType<typeof parseSearch>;
  try {
    q = parseSearch(args.query);
  } catch {
    q = [];
  }
  let ops: BulkOperation[];
  try {
    ops = mine(ctx).filter((b) =>
      matches(
        q,
        {
          created_at: b.createdAt,
          id: b.id,
          operation_type: opType(b).toLowerCase(),
          status: b.status.toLowerCase(),
        },
        [],
        BULK_SEARCH,
      ),
    );
  } catch (e) {
    throw gqlError((e as Error).message, "BAD_REQUEST");
  }
  // "Defaults to sorting by created_at, with newest operations first"; `reverse` turns it round.
  const byCompleted = args.sortKey === "COMPLETED_AT";
  const keyOf = (b: BulkOperation) => sortKey(byCompleted ? (b.completedAt ?? "") : b.createdAt, b.id);
  return connection(ops, { ...args, reverse: !args.reverse }, ctx, keyOf);
}

export const bulkResolvers: ResolverMap = {
  QueryRoot: {
    // Deprecated ("Use `bulkOperations` with status filter instead") but in the schema: answered,
    // with X-Shopify-API-Deprecated-Reason (admin-api.ts). The hub never uses it. `type`
    // (default QUERY) picks the app's most recent query or mutation operation.
    currentBulkOperation: (_s, args: { type?: string | null }, ctx) =>
      mine(ctx)
        .filter((b) => opType(b) === (args.type ?? "QUERY"))
        .at(-1) ?? null,
    bulkOperation: (_s, args: { id: string }, ctx) => {
      const n = parseGid(args.id, "BulkOperation");
      const op = n === undefined ? undefined : ctx.shop.bulkOperations.get(n);
      return op && op.appId === ctx.app.id ? op : null;
    },
    bulkOperations: (_s, args, ctx) => listBulkOperations(ctx, args),
  },
  Mutation: {
    bulkOperationRunQuery: (_s, args, ctx) => runQuery(ctx, args),
  },
  BulkOperationRunQueryPayload: { bulkOperation: (p) => p.bulkOperation, userErrors: (p) => p.userErrors },
  BulkOperation: {
    id: (b: BulkOperation) => gid("BulkOperation", b.id),
    status: (b: BulkOperation) => b.status,
    errorCode: (b: BulkOperation) => b.errorCode,
    type: () => "QUERY",
    query: (b: BulkOperation) => b.query,
    createdAt: (b: BulkOperation) => b.createdAt,
    completedAt: (b: BulkOperation) => b.completedAt,
    objectCount: (b: BulkOperation) => String(b.objectCount),
    rootObjectCount: (b: BulkOperation) => String(b.rootObjectCount),
    fileSize: (b: BulkOperation) => (b.fileSize === null ? null : String(b.fileSize)),
    url: (b: BulkOperation, _a, ctx) =>
      b.status === "COMPLETED" && b.objectCount > 0
        ? `${ctx.baseUrl}/_emulator/bulk/${ctx.shop.domain}/${b.id}.jsonl`
        : null,
    partialDataUrl: () => null,
  },
};
