// Executes one Admin GraphQL request for one app on one shop: parse, validate against the real
// schema, price, throttle, execute against in-memory state, refund to the actual cost.

import { createHash } from "node:crypto";
import {
  type DocumentNode,
  execute,
  GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type GraphQLTypeResolver,
  getDirectiveValues,
  NoDeprecatedCustomRule,
  parse,
  validate,
} from "graphql";
import { charge, newBucket, refund, throttleStatus } from "./bucket.ts";
import { actualCost, type CostField, findOperation, MAX_QUERY_COST, requestedCost } from "./cost.ts";
import { packMutationResult, unpackMutationResult } from "./resolvers/inventory.ts";
import { type Ctx, gqlError, notImplemented, type ResolverMap, typeOf, userError } from "./resolvers/kit.ts";
import { adminSchema } from "./schema.ts";
import { hasScope } from "./scopes.ts";
import { type AccessToken, type App, pushCapped, type Shop, type Store } from "./state.ts";

export const MAX_INPUT_ARRAY = 250;

/** Idempotency keys remembered per shop, the latest ones (enough for any client's retries). */
export const IDEMPOTENCY_KEYS_KEPT = 1000;

/** Root fields and the access scope each needs (write_x implies read_x). */
export const ROOT_SCOPES: Record<string, string> = {
  locations: "read_locations",
  location: "read_locations",
  products: "read_products",
  product: "read_products",
  productVariants: "read_products",
  productVariant: "read_products",
  productSet: "write_products",
  productVariantsBulkUpdate: "write_products",
  inventoryItem: "read_inventory",
  inventoryItems: "read_inventory",
  inventoryLevel: "read_inventory",
  inventorySetQuantities: "write_inventory",
  inventoryAdjustQuantities: "write_inventory",
  inventoryActivate: "write_inventory",
  orders: "read_orders",
  order: "read_orders",
  fulfillmentOrder: "read_merchant_managed_fulfillment_orders",
  fulfillmentCreate: "write_merchant_managed_fulfillment_orders",
  fulfillmentTrackingInfoUpdate: "write_merchant_managed_fulfillment_orders",
  fulfillmentCancel: "write_merchant_managed_fulfillment_orders",
  fulfillment: "read_fulfillments",
  refund: "read_orders",
  tagsAdd: "write_orders",
  refundCreate: "write_orders",
  returnCreate: "write_returns",
  returnClose: "write_returns",
  return: "read_returns",
  customers: "read_customers",
  customer: "read_customers",
  companies: "read_customers",
  company: "read_customers",
};

/** Mutations that require the `@idempotent(key:)` directive since 2026-04. */
export const IDEMPOTENT_MUTATIONS = new Set([
  "inventorySetQuantities",
  "inventoryAdjustQuantities",
  "inventoryActivate",
  "refundCreate",
]);

const IDEMPOTENT_PAYLOAD_ERROR: Record<string, string> = {
  inventorySetQuantities: "InventorySetQuantitiesUserError",
  inventoryAdjustQuantities: "InventoryAdjustQuantitiesUserError",
  inventoryActivate: "UserError",
  refundCreate: "UserError",
};

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "undefined";
}

function oversizedArray(v: unknown, path: string[]): { size: number; path: string[] } | undefined {
  if (Array.isArray(v)) {
    if (v.length > MAX_INPUT_ARRAY) return { size: v.length, path };
    for (const x of v) {
      const r = oversizedArray(x, path);
      if (r) return r;
    }
  } else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      const r = oversizedArray(x, [...path, k]);
      if (r) return r;
    }
  }
  return undefined;
}

export function makeFieldResolver(
  resolvers: ResolverMap,
  schema: GraphQLSchema,
): GraphQLFieldResolver<unknown, Ctx> {
  const idempotent = schema.getDirective("idempotent");
  return (source, args, ctx, info) => {
    const typeName = info.parentType.name;
    const fieldName = info.fieldName;
    const fn = resolvers[typeName]?.[fieldName];
    if (!fn) throw notImplemented(typeName, fieldName);
    const isRoot = typeName === "QueryRoot" || typeName === "Mutation" || info.path.prev === undefined;
    if (!isRoot) return fn(source, args, ctx, info);

    const big = oversizedArray(args, [fieldName]);
    if (big) {
      throw gqlError(
        `The input array size of ${big.size} is greater than the maximum allowed of ${MAX_INPUT_ARRAY}.`,
        "MAX_INPUT_SIZE_EXCEEDED",
        { path: big.path },
      );
    }
    const scope = ROOT_SCOPES[fieldName];
    if (scope && !hasScope(ctx.scopes, scope)) {
      throw gqlError(
        `Access denied for ${fieldName} field. Required access: \`${scope}\` access scope.`,
        "ACCESS_DENIED",
        {
          documentation: "https://shopify.dev/api/usage/access-scopes",
          requiredAccess: `\`${scope}\` access scope.`,
        },
      );
    }
    if (!IDEMPOTENT_MUTATIONS.has(fieldName) || info.operation.operation !== "mutation") {
      return fn(source, args, ctx, info);
    }
    const node = info.fieldNodes[0]!;
    const dir = idempotent ? getDirectiveValues(idempotent, node, info.variableValues) : undefined;
    const key = typeof dir?.["key"] === "string" ? dir["key"] : undefined;
    if (key === undefined) {
      // As Shopify answers since 2026-04 (changelog "Making idempotency mandatory for inventory
      // adjustments and refund mutations"): a top-level error on the field, code BAD_REQUEST.
      throw gqlError(
        "The @idempotent directive is required for this mutation but was not provided.",
        "BAD_REQUEST",
      );
    }
    if (!key.trim()) throw gqlError("The idempotency key cannot be empty or whitespace.", "BAD_REQUEST");
    const recordKey = `${ctx.app.id}:${key}`;
    // A digest, not the arguments' text: a 250-quantity mutation's arguments are some 30 KB.
    const fingerprint = createHash("sha256").update(stable({ fieldName, args })).digest("base64");
    const prior = ctx.shop.idempotency.get(recordKey);
    if (prior) {
      if (prior.fingerprint === fingerprint) return unpackMutationResult(prior.result);
      const errType = IDEMPOTENT_PAYLOAD_ERROR[fieldName];
      const msg = "The same idempotency key cannot be used with different operation parameters.";
      return {
        userErrors: [
          errType === "UserError"
            ? userError(msg, null)
            : userError(msg, null, "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"),
        ],
      };
    }
    const result = fn(source, args, ctx, info);
    ctx.shop.idempotency.set(recordKey, {
      field: fieldName,
      fingerprint,
      result: packMutationResult(result),
    });
    // Shopify keeps a key for a day; the emulator keeps the latest keys of a shop only (a full
    // push of 500,000 levels is 2,000 keys, each result holding 500 changes), their changes
    // packed in columns (resolvers/inventory.ts).
    for (const oldest of ctx.shop.idempotency.keys()) {
      if (ctx.shop.idempotency.size <= IDEMPOTENCY_KEYS_KEPT) break;
      ctx.shop.idempotency.delete(oldest);
    }
    return result;
  };
}

export const typeResolver: GraphQLTypeResolver<unknown, Ctx> = (value) => typeOf(value);

export interface AdminRequest {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

export interface AdminResponse {
  status: number;
  body: unknown;
  /** Deprecated schema elements the request used: the server answers `X-Shopify-API-Deprecated-Reason`. */
  deprecated?: string[];
}

interface Parsed {
  doc?: DocumentNode;
  errors: readonly GraphQLError[];
  /** Deprecated schema elements the document uses, e.g. `QueryRoot.currentBulkOperation`. */
  deprecated: string[];
}

const docCache = new Map<string, Parsed>();

/** `The field QueryRoot.currentBulkOperation is deprecated. …` → `QueryRoot.currentBulkOperation`. */
function deprecatedName(message: string): string {
  const m = /^The (?:field|argument|enum value) "?([^" ]+)"? (?:is deprecated|of )/.exec(message);
  return m?.[1] ?? message;
}

function parsed(schema: GraphQLSchema, query: string): Parsed {
  const hit = docCache.get(query);
  if (hit) return hit;
  let doc: DocumentNode;
  try {
    doc = parse(query);
  } catch (e) {
    return { errors: [e instanceof GraphQLError ? e : new GraphQLError(String(e))], deprecated: [] };
  }
  const errors = validate(schema, doc);
  const deprecated =
    errors.length === 0
      ? [...new Set(validate(schema, doc, [NoDeprecatedCustomRule]).map((e) => deprecatedName(e.message)))]
      : [];
  const entry = { doc, errors, deprecated };
  if (docCache.size > 500) docCache.clear();
  docCache.set(query, entry);
  return entry;
}

/** Shopify-style codes for graphql-js validation messages (the messages themselves are graphql-js's). */
function validationCode(message: string): string {
  if (message.startsWith("Cannot query field")) return "undefinedField";
  if (message.includes("argument") && message.includes("required")) return "missingRequiredArguments";
  if (message.startsWith("Unknown argument")) return "argumentNotAccepted";
  if (message.startsWith("Unknown type")) return "undefinedType";
  if (message.startsWith("Variable") && message.includes("never used")) return "variableNotUsed";
  if (message.startsWith("Variable")) return "variableMismatch";
  if (message.startsWith("Syntax Error")) return "PARSE_ERROR";
  return "GRAPHQL_VALIDATION_FAILED";
}

function formatError(e: GraphQLError, code?: string): GraphQLFormattedError {
  const f = e.toJSON();
  return { ...f, extensions: { ...(f.extensions ?? {}), ...(code ? { code } : {}) } };
}

export interface ExecuteOptions {
  /** Logged with the call: when the request arrived and its User-Agent. */
  request?: { receivedAt: number; client: string | null };
  store: Store;
  shop: Shop;
  app: App;
  token: AccessToken | null;
  resolvers: ResolverMap;
  baseUrl: string;
  /** The request asked `X-GraphQL-Cost-Include-Fields: true`: answer the per-field cost breakdown. */
  includeCostFields?: boolean;
}

/** Run one Admin API request: the HTTP status and JSON body Shopify would answer with. */
export async function executeAdmin(req: AdminRequest, opts: ExecuteOptions): Promise<AdminResponse> {
  const schema = adminSchema();
  const { store, shop, app } = opts;
  const now = () => store.clock.now();
  const log = (entry: Partial<(typeof shop.apiCalls)[number]>) =>
    pushCapped(shop.apiCalls, {
      at: store.nowIso(),
      appId: app.id,
      status: 200,
      operationName: null,
      rootFields: [],
      requestedQueryCost: null,
      actualQueryCost: null,
      throttled: false,
      fault: null,
      ...(opts.request ? { ...opts.request, answeredAt: now() } : {}),
      ...entry,
    });
  if (typeof req.query !== "string" || !req.query.trim()) {
    log({ status: 400 });
    return { status: 400, body: { errors: { query: "Required parameter missing or invalid" } } };
  }
  const variables = (req.variables && typeof req.variables === "object" ? req.variables : {}) as Record<
    string,
    unknown
  >;
  const operationName = typeof req.operationName === "string" ? req.operationName : null;

  const { doc, errors, deprecated } = parsed(schema, req.query);
  if (!doc || errors.length > 0) {
    log({ operationName });
    return { status: 200, body: { errors: errors.map((e) => formatError(e, validationCode(e.message))) } };
  }
  const op = findOperation(doc, operationName);
  if (!op) {
    log({ operationName });
    const message = operationName ? `No operation named "${operationName}"` : "An operation name is required";
    return { status: 200, body: { errors: [{ message, extensions: { code: "OPERATION_NOT_FOUND" } }] } };
  }
  const rootFields = op.selectionSet.selections.flatMap((s) => (s.kind === "Field" ? [s.name.value] : []));
  const fields: CostField[] | undefined = opts.includeCostFields ? [] : undefined;
  const requested = requestedCost(schema, doc, op, variables, fields);
  if (requested > MAX_QUERY_COST) {
    log({ operationName, rootFields, requestedQueryCost: requested });
    return {
      status: 200,
      body: {
        errors: [
          {
            message: `Query cost is ${requested}, which exceeds the single query max cost limit (${MAX_QUERY_COST}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n`,
            extensions: {
              code: "MAX_COST_EXCEEDED",
              cost: requested,
              maxCost: MAX_QUERY_COST,
              documentation: "https://shopify.dev/api/usage/limits#rate-limits",
            },
          },
        ],
      },
    };
  }

  const bucket = shop.buckets.get(app.id) ?? newBucket(shop.bucketSize, shop.restoreRate, now());
  const charged = charge(bucket, requested, now());
  shop.buckets.set(app.id, charged.bucket);
  if (!charged.ok) {
    log({ operationName, rootFields, requestedQueryCost: requested, throttled: true });
    return {
      status: 200,
      body: {
        errors: [
          {
            message: "Throttled",
            extensions: {
              code: "THROTTLED",
              documentation: "https://shopify.dev/api/usage/limits#rate-limits",
            },
          },
        ],
        extensions: {
          cost: {
            requestedQueryCost: requested,
            actualQueryCost: null,
            throttleStatus: throttleStatus(charged.bucket),
            ...(fields ? { fields } : {}),
          },
        },
      },
    };
  }

  const ctx: Ctx = {
    store,
    shop,
    app,
    scopes: new Set(opts.token?.scopes ?? shop.installations.get(app.id)?.scopes ?? []),
    baseUrl: opts.baseUrl,
    bulk: false,
    now: store.nowIso(),
  };
  const result = await execute({
    schema,
    document: doc,
    rootValue: {},
    contextValue: ctx,
    variableValues: variables,
    operationName,
    fieldResolver: makeFieldResolver(opts.resolvers, schema),
    typeResolver,
  });
  const actual = Math.min(requested, actualCost(schema, doc, op, variables, result.data ?? null));
  const after = refund(shop.buckets.get(app.id)!, requested - actual, now());
  shop.buckets.set(app.id, after);
  log({
    operationName,
    rootFields,
    requestedQueryCost: requested,
    actualQueryCost: actual,
    ...(deprecated.length ? { deprecated } : {}),
  });
  const body: Record<string, unknown> = {};
  if (result.errors?.length) body["errors"] = result.errors.map((e) => formatError(e));
  body["data"] = result.data ?? null;
  body["extensions"] = {
    cost: {
      requestedQueryCost: requested,
      actualQueryCost: actual,
      throttleStatus: throttleStatus(after),
      ...(fields ? { fields } : {}),
    },
  };
  return { status: 200, body, ...(deprecated.length ? { deprecated } : {}) };
}
