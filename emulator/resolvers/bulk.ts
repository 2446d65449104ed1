// Bulk query operations: the inner query runs over every page of every connection, and the result is
// a JSONL file (one line per node; nested connection nodes carry `__parentId`) served by the emulator.
import { execute, type GraphQLError, parse, validate } from "graphql";
import { makeFieldResolver, typeResolver } from "../admin-api.ts";
import { gid, parseGid } from "../gid.ts";
import { adminSchema } from "../schema.ts";
import type { BulkOperation } from "../state.ts";
import { allResolvers } from "./index.ts";
import { type Ctx, connection, type PageArgs, type ResolverMap, userError } from "./kit.ts";

export const MAX_CONCURRENT_BULK = 5;

type Json = Record<string, unknown>;

function isConnection(v: unknown): v is { edges?: { node: Json }[]; nodes?: Json[] } {
  return !!v && typeof v === "object" && !Array.isArray(v) && ("edges" in v || "nodes" in v) && !("id" in v);
}

function connectionNodes(v: { edges?: { node: Json }[]; nodes?: Json[] }): Json[] {
  if (Array.isArray(v.nodes)) return v.nodes;
  return (v.edges ?? []).map((e) => e.node);
}

/** Flatten one node: nested connections become their own lines pointing at the nearest ancestor with an id. */
function emitNode(node: Json, parentId: string | undefined, out: Json[]): void {
  const line: Json = {};
  const later: [Json[], string | undefined][] = [];
  const ownId = typeof node["id"] === "string" ? (node["id"] as string) : parentId;
  const strip = (obj: Json, target: Json) => {
    for (const [k, v] of Object.entries(obj)) {
      if (isConnection(v)) later.push([connectionNodes(v), ownId]);
      else if (v && typeof v === "object" && !Array.isArray(v)) {
        const inner: Json = {};
        strip(v as Json, inner);
        target[k] = inner;
      } else target[k] = v;
    }
  };
  strip(node, line);
  if (parentId !== undefined) line["__parentId"] = parentId;
  out.push(line);
  for (const [nodes, pid] of later) for (const n of nodes) emitNode(n, pid, out);
}

export function toJsonl(data: Json): { lines: Json[]; roots: number } {
  const lines: Json[] = [];
  let roots = 0;
  for (const v of Object.values(data)) {
    if (isConnection(v)) {
      for (const n of connectionNodes(v)) {
        roots++;
        emitNode(n, undefined, lines);
      }
    } else if (v && typeof v === "object") {
      roots++;
      emitNode(v as Json, undefined, lines);
    }
  }
  return { lines, roots };
}

/**
 * Result files kept per shop: the latest few. Shopify keeps them for a week; an emulator holding
 * every one (a 500,000-level store's file is some 70 MB) would grow with each read of the store.
 * Older completed operations become EXPIRED, as Shopify's do after their week.
 */
export const BULK_RESULTS_KEPT = 3;

function expireOldResults(shop: Ctx["shop"]): void {
  const completed = [...shop.bulkOperations.values()].filter((b) => b.status === "COMPLETED");
  for (const b of completed.slice(0, Math.max(0, completed.length - BULK_RESULTS_KEPT))) {
    b.status = "EXPIRED";
    b.content = null;
  }
}

async function run(ctx: Ctx, op: BulkOperation): Promise<void> {
  op.status = "RUNNING";
  const schema = adminSchema();
  const result = await execute({
    schema,
    document: parse(op.query),
    rootValue: {},
    contextValue: { ...ctx, bulk: true, now: ctx.store.nowIso() },
    fieldResolver: makeFieldResolver(allResolvers(), schema),
    typeResolver,
  });
  op.completedAt = ctx.store.nowIso();
  if (result.errors?.length || !result.data) {
    op.status = "FAILED";
    op.errorCode = result.errors?.some((e) => e.extensions["code"] === "ACCESS_DENIED")
      ? "ACCESS_DENIED"
      : "INTERNAL_SERVER_ERROR";
    op.errorMessage = result.errors?.map((e) => e.message).join("; ") ?? "no data";
  } else {
    // The file is written a slice of lines at a time with the event loop free between slices
    // (one JSON.stringify over 500,000 levels held the emulator for tens of seconds), and the
    // executed result is let go as soon as the lines hold what they need.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const { lines, roots } = toJsonl(result.data as Json);
    (result as { data?: unknown }).data = undefined;
    const parts: string[] = [];
    for (let i = 0; i < lines.length; i += 20_000) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      let chunk = "";
      for (const l of lines.slice(i, i + 20_000)) chunk += `${JSON.stringify(l)}\n`;
      parts.push(chunk);
    }
    op.content = parts.join("");
    op.objectCount = lines.length;
    op.rootObjectCount = roots;
    op.fileSize = Buffer.byteLength(op.content);
    op.status = "COMPLETED";
    expireOldResults(ctx.shop);
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
  const running = [...ctx.shop.bulkOperations.values()].filter(
    (b) => b.status === "CREATED" || b.status === "RUNNING",
  );
  if (running.length >= MAX_CONCURRENT_BULK) {
    return {
      bulkOperation: null,
      userErrors: [
        userError(
          `A shop can run at most ${MAX_CONCURRENT_BULK} bulk query operations at a time.`,
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
    content: null,
    createdAt: ctx.now,
    completedAt: null,
  };
  ctx.shop.bulkOperations.set(op.id, op);
  // Runs after this response, as on Shopify; poll currentBulkOperation or wait for bulk_operations/finish.
  setImmediate(() => {
    run(ctx, op).catch((e: unknown) => {
      op.status = "FAILED";
      op.errorMessage = String(e);
      op.errorCode = "INTERNAL_SERVER_ERROR";
    });
  });
  return { bulkOperation: { ...op }, userErrors: [] };
}

function mine(ctx: Ctx): BulkOperation[] {
  return [...ctx.shop.bulkOperations.values()].filter((b) => b.appId === ctx.app.id);
}

export const bulkResolvers: ResolverMap = {
  QueryRoot: {
    currentBulkOperation: (_s, _a, ctx) => mine(ctx).at(-1) ?? null,
    bulkOperation: (_s, args: { id: string }, ctx) => {
      const n = parseGid(args.id, "BulkOperation");
      const op = n === undefined ? undefined : ctx.shop.bulkOperations.get(n);
      return op && op.appId === ctx.app.id ? op : null;
    },
    bulkOperations: (_s, args: PageArgs, ctx) => connection(mine(ctx), args, ctx, (b) => b.id),
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
