// The HTTP face of the emulator: Shopify's Admin API and OAuth endpoints per shop, and the control API.
//
// Shops are addressed by path prefix (`/{shop}/admin/...`), or by Host header (`<name>.myshopify.com`)
// for plain `/admin/...` paths.
//
// Control API (JSON in, JSON out; errors are { "error": { "code", "message" } }):
//   POST   /_emulator/apps                              createApp { name?, clientId?, clientSecret?, scopes }
//   POST   /_emulator/shops                             createShop { domain, plan?, bucketSize?, name?, currency?, oauthMode? }
//   GET    /_emulator/shops/:shop                       getShop
//   PATCH  /_emulator/shops/:shop                       updateShop { plan?, bucketSize?, oauthMode? }
//   POST   /_emulator/tokens                            mintToken { shop, clientId, scopes? } → { accessToken, scopes }
//   POST   /_emulator/tokens/revoke                     revokeTokens { token? | shop?, clientId? }
//   POST   /_emulator/shops/:shop/uninstall             uninstallApp { clientId }
//   GET    /_emulator/shops/:shop/locations             listLocations
//   POST   /_emulator/shops/:shop/locations             createLocation { name, address?, fulfillsOnlineOrders?, isActive? }
//   GET    /_emulator/shops/:shop/products              listProducts
//   POST   /_emulator/shops/:shop/products              createProduct { title, variants: [{ sku, barcode, price, options, inventory: { locationId: qty } }] }
//   POST   /_emulator/shops/:shop/product-set           productSet { input: ProductSetInput, identifier? } (fires products/create|update)
//   DELETE /_emulator/shops/:shop/products/:id          productDelete (gid or number; fires products/delete)
//   POST   /_emulator/shops/:shop/seed                  seedCatalog { variants?, variantsPerProduct?, locations? (ids or a count), skuPrefix?, barcodePrefix?, quantity?, modulo?, title?, catalog?, images?, metafields? }
//   GET    /_emulator/shops/:shop/inventory             listInventoryLevels
//   GET    /_emulator/shops/:shop/inventory/level       getInventoryLevel ?inventoryItemId|sku&locationId
//   POST   /_emulator/shops/:shop/inventory             setInventory { inventoryItemId|sku, locationId, name?, quantity }
//   GET    /_emulator/shops/:shop/orders                listOrders
//   POST   /_emulator/shops/:shop/orders                placeOrder { lineItems: [{ variantId|sku, quantity, price? }], locationId?, email?, customer?, company?, billingAddress?, shippingAddress?, financialStatus?, note?, tags?, sourceName?, fulfilled? }
//   GET    /_emulator/shops/:shop/orders/:id            getOrder
//   GET    /_emulator/shops/:shop/orders/:id/payload    orderPayload (REST webhook shape)
//   PATCH  /_emulator/shops/:shop/orders/:id            updateOrder { note?, tags?, email?, shippingAddress?, financialStatus?, closed? }
//   POST   /_emulator/shops/:shop/orders/:id/cancel     cancelOrder { reason?, restock? }
//          … money: taxesIncluded?, presentmentCurrency?, exchangeRate?, discounts?, shippingLines?, payments?, paymentTerms?, staffMember?, companyLocation?, noteAttributes?, customerLocale?; lines: taxLines?, giftCard?, properties?, duty?
//   POST   /_emulator/shops/:shop/orders/:id/payments   payOrder { gateway?, amount?, kind? } (a payment recorded later)
//   POST   /_emulator/shops/:shop/orders/:id/refunds    createRefund { lineItems: [{ lineItemId, quantity, restockType?, locationId? }], note?, shipping?, adjustments?, transactions? }
//   POST   /_emulator/shops/:shop/orders/:id/fulfillments fulfillOrder { lines?: [{ lineItemId, quantity }], tracking?: [{ number, company?, url? }], notifyCustomer? } → fulfillment
//   POST   /_emulator/shops/:shop/orders/:id/edit       editOrder { lines?: [{ lineItemId, quantity, restock? }], add?: [{ variantId|sku, quantity, price? }], notifyCustomer?, staffNote? }
//   POST   /_emulator/shops/:shop/fulfillments/:id/cancel cancelFulfillment → fulfillment
//   POST   /_emulator/shops/:shop/fulfillment-orders/:id/hold     holdFulfillmentOrder { reason?, reasonNotes? } (ON_HOLD; placed_on_hold)
//   POST   /_emulator/shops/:shop/fulfillment-orders/:id/release  releaseFulfillmentOrderHold (hold_released)
//   POST   /_emulator/shops/:shop/fulfillment-orders/:id/request  setFulfillmentRequestStatus { requestStatus: SUBMITTED|ACCEPTED|REJECTED|CLOSED }
//   POST   /_emulator/fulfillment-orders/open-scheduled            openScheduledFulfillmentOrders (placeOrder { fulfillAt } makes them SCHEDULED)
//   GET    /_emulator/shops/:shop/api-calls             apiCalls
//   GET    /_emulator/shops/:shop/bulk-operations       listBulkOperations
//   POST   /_emulator/shops/:shop/bulk-operations/hold  holdBulkOperations { hold? = true } (new ones stay CREATED until released)
//   GET    /_emulator/shops/:shop/throttle?clientId=    throttleStatus
//   POST   /_emulator/shops/:shop/throttle-pressure     setThrottlePressure { clientId, drainRate?, available? }
//   POST   /_emulator/shops/:shop/faults                setFaults (partial Faults)
//   DELETE /_emulator/shops/:shop/faults                clearFaults
//   GET    /_emulator/webhooks/deliveries?shop=&topic=  webhookDeliveries
//   POST   /_emulator/webhooks/options                  setWebhookOptions { timeoutMs?, maxAttempts?, baseDelayMs?, maxConcurrentPerUri? }
//   GET    /_emulator/webhooks/removed?shop=            removedWebhookSubscriptions (deleted after their retries ran out)
//   POST   /_emulator/apps/:clientId/compliance-webhooks setComplianceWebhooks { uri } (the app's compliance address)
//   POST   /_emulator/shops/:shop/compliance            fireComplianceWebhook { clientId, topic, customerId? | email?, dataRequestId? }
//   POST   /_emulator/webhooks/idle                     webhooksIdle { timeoutMs? }
//   GET    /_emulator/clock                             now
//   POST   /_emulator/clock/advance                     advanceTime { ms }
//   POST   /_emulator/clock/freeze                      freezeTime { frozen? = true }
//   GET    /_emulator/bulk/:shop/:id.jsonl              a bulk operation's result file (the URL BulkOperation.url gives)
//   POST   /_emulator/staged-uploads                   a staged upload (multipart: the target's parameters, then file)
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { executeAdmin } from "./admin-api.ts";
import type { Control } from "./control.ts";
import { accessToken, authenticate, authorize, INVALID_TOKEN_BODY } from "./oauth.ts";
import { allResolvers } from "./resolvers/index.ts";
import { registerStagedUploads } from "./staged-uploads.ts";
import { ControlError, pushCapped, type Shop, type Store } from "./state.ts";
import { DEPRECATED_REASON_URL, resolveVersion } from "./versions.ts";

export interface ServerDeps {
  store: Store;
  control: Control;
  logger: boolean;
  baseUrl: () => string;
}

type Params = Record<string, string>;

/**
 * The body Shopify documents for an HTTP error status of the Admin API ("Sample error codes",
 * shopify.dev/docs/api/admin-graphql#status-and-error-codes); 429 as the REST limits page shows it.
 */
export function httpErrorBody(status: number): { errors: string } {
  switch (status) {
    case 402:
      return { errors: "This shop's plan does not have access to this feature" };
    case 403:
      return { errors: "Unavailable Shop" };
    case 404:
      return { errors: "Not Found" };
    case 423:
      return { errors: "This shop is unavailable" };
    case 429:
      return {
        errors:
          "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.",
      };
    case 502:
      return { errors: "Bad Gateway" };
    case 503:
      return { errors: "Service Unavailable" };
    case 504:
      return { errors: "Gateway Timeout" };
    default:
      return { errors: "An unexpected error occurred" };
  }
}

/** Seconds Shopify's `Retry-After` gives on a 429 (the limits page shows `Retry-After: 2.0`). */
export const RETRY_AFTER_SECONDS = "2.0";
type Query = Record<string, string | string[] | undefined>;

function shopFrom(req: FastifyRequest, store: Store): Shop | undefined {
  const p = (req.params as Params)["shop"] ?? req.hostname.split(":")[0] ?? "";
  return store.shops.get(p.toLowerCase());
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  const { store, control } = deps;
  const app = Fastify({ logger: deps.logger, bodyLimit: 50 * 1024 * 1024, genReqId: () => randomUUID() });
  // Every answer carries a request id, errors included, as Shopify's do.
  app.addHook("onRequest", (req, reply, done) => {
    reply.header("x-request-id", req.id);
    done();
  });

  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(body as string)) {
      const prev = out[k];
      out[k] = prev === undefined ? v : ([] as string[]).concat(prev, v);
    }
    done(null, out);
  });
  app.addContentTypeParser("application/graphql", { parseAs: "string" }, (_req, body, done) =>
    done(null, { query: body }),
  );

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ControlError)
      return reply.status(err.status).send({ error: { code: err.code, message: err.message } });
    const e = err as { statusCode?: number; message: string };
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    return reply
      .status(status)
      .send({ error: { code: status === 500 ? "INTERNAL" : "BAD_REQUEST", message: e.message } });
  });

  // ---- Admin GraphQL API ----
  const graphql = async (req: FastifyRequest, reply: FastifyReply) => {
    const shop = shopFrom(req, store);
    if (!shop) return reply.status(404).send(httpErrorBody(404));
    const answer = resolveVersion((req.params as Params)["version"] ?? "", new Date(store.clock.now()));
    if (answer.kind === "not_found") return reply.status(404).send(httpErrorBody(404));
    reply.header("x-shopify-api-version", answer.handle);
    const ua = req.headers["user-agent"];
    const request = { receivedAt: store.clock.now(), client: typeof ua === "string" ? ua : null };
    const f = shop.faults;
    if (f.latencyMs > 0) await new Promise((r) => setTimeout(r, f.latencyMs));
    const logFault = (status: number, fault: string) =>
      pushCapped(shop.apiCalls, {
        ...request,
        answeredAt: store.clock.now(),
        at: store.nowIso(),
        appId: null,
        status,
        operationName: null,
        rootFields: [],
        requestedQueryCost: null,
        actualQueryCost: null,
        throttled: false,
        fault,
      });
    if (f.dropConnectionRate > 0 && Math.random() < f.dropConnectionRate) {
      logFault(0, "dropped");
      req.raw.socket.destroy();
      return reply.hijack();
    }
    if (f.failNext > 0 || (f.errorRate > 0 && Math.random() < f.errorRate)) {
      if (f.failNext > 0) f.failNext -= 1;
      const statuses = f.errorStatuses.length ? f.errorStatuses : [500];
      const status = statuses[Math.floor(Math.random() * statuses.length)]!;
      logFault(status, "http_error");
      if (status === 429) reply.header("retry-after", RETRY_AFTER_SECONDS);
      return reply.status(status).type("application/json").send(httpErrorBody(status));
    }
    const header = req.headers["x-shopify-access-token"];
    const auth = authenticate(store, shop, typeof header === "string" ? header : undefined);
    if (!auth.ok) return reply.status(401).send(INVALID_TOKEN_BODY);
    const res = await executeAdmin((req.body ?? {}) as Record<string, unknown>, {
      request,
      store,
      shop,
      app: auth.app,
      token: auth.token,
      resolvers: allResolvers(),
      baseUrl: deps.baseUrl(),
      includeCostFields: String(req.headers["x-graphql-cost-include-fields"] ?? "").toLowerCase() === "true",
    });
    if (res.deprecated?.length) reply.header("x-shopify-api-deprecated-reason", DEPRECATED_REASON_URL);
    return reply.status(res.status).send(res.body);
  };
  app.post("/:shop/admin/api/:version/graphql.json", graphql);
  app.post("/admin/api/:version/graphql.json", graphql);

  // ---- OAuth ----
  const authorizeRoute = (approved: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const shop = shopFrom(req, store);
    if (!shop) return reply.status(404).type("text/plain").send("Shop not found");
    const q = (approved ? req.body : req.query) as Record<string, string>;
    const r = authorize(store, shop, q, approved);
    if (r.kind === "redirect") return reply.redirect(r.location, 302);
    if (r.kind === "page") return reply.type("text/html").send(r.html);
    return reply.status(r.status).type("text/plain").send(r.message);
  };
  app.get("/:shop/admin/oauth/authorize", authorizeRoute(false));
  app.get("/admin/oauth/authorize", authorizeRoute(false));
  app.post("/:shop/admin/oauth/authorize", authorizeRoute(true));
  app.post("/admin/oauth/authorize", authorizeRoute(true));
  const tokenRoute = async (req: FastifyRequest, reply: FastifyReply) => {
    const shop = shopFrom(req, store);
    if (!shop) return reply.status(404).send({ errors: "Not Found" });
    const body = { ...((req.query as Query) ?? {}), ...((req.body as Record<string, unknown>) ?? {}) };
    const r = accessToken(store, shop, body);
    return reply.status(r.status).send(r.body);
  };
  app.post("/:shop/admin/oauth/access_token", tokenRoute);
  app.post("/admin/oauth/access_token", tokenRoute);

  // ---- control ----
  const p = (req: FastifyRequest) => req.params as Params;
  const b = <T>(req: FastifyRequest) => (req.body ?? {}) as T;
  const q = (req: FastifyRequest) => req.query as Record<string, string | undefined>;
  app.post("/_emulator/apps", async (req) => control.createApp(b(req)));
  app.post("/_emulator/shops", async (req) => control.createShop(b(req)));
  app.get("/_emulator/shops/:shop", async (req) => control.getShop(p(req)["shop"]!));
  app.patch("/_emulator/shops/:shop", async (req) => control.updateShop(p(req)["shop"]!, b(req)));
  app.post("/_emulator/tokens", async (req) => control.mintToken(b(req)));
  app.post("/_emulator/tokens/revoke", async (req) => control.revokeTokens(b(req)));
  app.post("/_emulator/shops/:shop/uninstall", async (req) => {
    control.uninstallApp({ shop: p(req)["shop"]!, clientId: b<{ clientId: string }>(req).clientId });
    return { ok: true };
  });
  app.get("/_emulator/shops/:shop/locations", async (req) => control.listLocations(p(req)["shop"]!));
  app.post("/_emulator/shops/:shop/locations", async (req) =>
    control.createLocation(p(req)["shop"]!, b(req)),
  );
  app.get("/_emulator/shops/:shop/products", async (req) => control.listProducts(p(req)["shop"]!));
  app.post("/_emulator/shops/:shop/products", async (req) => control.createProduct(p(req)["shop"]!, b(req)));
  app.post("/_emulator/shops/:shop/product-set", async (req) => control.productSet(p(req)["shop"]!, b(req)));
  app.delete("/_emulator/shops/:shop/products/:id", async (req) =>
    control.deleteProduct(p(req)["shop"]!, decodeURIComponent(p(req)["id"]!)),
  );
  app.post("/_emulator/shops/:shop/seed", async (req) => control.seedCatalog(p(req)["shop"]!, b(req)));
  app.get("/_emulator/shops/:shop/inventory", async (req) => control.listInventoryLevels(p(req)["shop"]!));
  app.get("/_emulator/shops/:shop/inventory/level", async (req) => {
    const { inventoryItemId, sku, locationId } = q(req);
    return control.getInventoryLevel(p(req)["shop"]!, { inventoryItemId, sku, locationId: locationId ?? "" });
  });
  app.post("/_emulator/shops/:shop/inventory", async (req) => control.setInventory(p(req)["shop"]!, b(req)));
  app.get("/_emulator/shops/:shop/orders", async (req) => control.listOrders(p(req)["shop"]!));
  app.post("/_emulator/shops/:shop/orders", async (req) => control.placeOrder(p(req)["shop"]!, b(req)));
  app.get("/_emulator/shops/:shop/orders/:id", async (req) =>
    control.getOrder(p(req)["shop"]!, p(req)["id"]!),
  );
  app.get("/_emulator/shops/:shop/orders/:id/payload", async (req) =>
    control.orderPayload(p(req)["shop"]!, p(req)["id"]!),
  );
  app.patch("/_emulator/shops/:shop/orders/:id", async (req) =>
    control.updateOrder(p(req)["shop"]!, p(req)["id"]!, b(req)),
  );
  app.post("/_emulator/shops/:shop/orders/:id/cancel", async (req) =>
    control.cancelOrder(p(req)["shop"]!, p(req)["id"]!, b(req)),
  );
  app.post("/_emulator/shops/:shop/orders/:id/payments", async (req) =>
    control.payOrder(p(req)["shop"]!, p(req)["id"]!, b(req)),
  );
  app.post("/_emulator/shops/:shop/orders/:id/refunds", async (req) =>
    control.createRefund(p(req)["shop"]!, p(req)["id"]!, b(req)),
  );
  app.post("/_emulator/shops/:shop/orders/:id/fulfillments", async (req) =>
    control.fulfillOrder(p(req)["shop"]!, p(req)["id"]!, b(req)),
  );
  app.post("/_emulator/shops/:shop/orders/:id/edit", async (req) =>
    control.editOrder(p(req)["shop"]!, p(req)["id"]!, b(req)),
  );
  app.post("/_emulator/shops/:shop/fulfillments/:id/cancel", async (req) =>
    control.cancelFulfillment(p(req)["shop"]!, p(req)["id"]!),
  );
  app.post("/_emulator/shops/:shop/fulfillment-orders/:id/hold", async (req) =>
    control.holdFulfillmentOrder(p(req)["shop"]!, p(req)["id"]!, b(req)),
  );
  app.post("/_emulator/shops/:shop/fulfillment-orders/:id/release", async (req) =>
    control.releaseFulfillmentOrderHold(p(req)["shop"]!, p(req)["id"]!),
  );
  app.post("/_emulator/shops/:shop/fulfillment-orders/:id/request", async (req) =>
    control.setFulfillmentRequestStatus(p(req)["shop"]!, p(req)["id"]!, b(req)),
  );
  app.post("/_emulator/fulfillment-orders/open-scheduled", async () =>
    control.openScheduledFulfillmentOrders(),
  );
  app.get("/_emulator/shops/:shop/api-calls", async (req) => control.apiCalls(p(req)["shop"]!));
  app.get("/_emulator/shops/:shop/bulk-operations", async (req) =>
    control.listBulkOperations(p(req)["shop"]!),
  );
  app.post("/_emulator/shops/:shop/bulk-operations/hold", async (req) =>
    control.holdBulkOperations(p(req)["shop"]!, b<{ hold?: boolean }>(req).hold ?? true),
  );
  app.get("/_emulator/shops/:shop/throttle", async (req) =>
    control.throttleStatus({ shop: p(req)["shop"]!, clientId: q(req)["clientId"] ?? "" }),
  );
  app.post("/_emulator/shops/:shop/throttle-pressure", async (req) =>
    control.setThrottlePressure({ ...b<{ clientId: string }>(req), shop: p(req)["shop"]! }),
  );
  app.post("/_emulator/shops/:shop/faults", async (req) => control.setFaults(p(req)["shop"]!, b(req)));
  app.delete("/_emulator/shops/:shop/faults", async (req) => control.clearFaults(p(req)["shop"]!));
  app.get("/_emulator/webhooks/deliveries", async (req) =>
    control.webhookDeliveries({ shop: q(req)["shop"], topic: q(req)["topic"] }),
  );
  app.post("/_emulator/webhooks/options", async (req) => control.setWebhookOptions(b(req)));
  app.get("/_emulator/webhooks/removed", async (req) => control.removedWebhookSubscriptions(q(req)["shop"]));
  app.post("/_emulator/apps/:clientId/compliance-webhooks", async (req) =>
    control.setComplianceWebhooks({
      clientId: p(req)["clientId"]!,
      uri: b<{ uri?: string | null }>(req).uri ?? null,
    }),
  );
  app.post("/_emulator/shops/:shop/compliance", async (req) =>
    control.fireComplianceWebhook(p(req)["shop"]!, b(req)),
  );
  app.post("/_emulator/webhooks/idle", async (req) => {
    await control.webhooksIdle(b<{ timeoutMs?: number }>(req).timeoutMs);
    return { ok: true };
  });
  app.get("/_emulator/clock", async () => control.now());
  app.post("/_emulator/clock/advance", async (req) => control.advanceTime(b<{ ms: number }>(req).ms));
  app.post("/_emulator/clock/freeze", async (req) =>
    control.freezeTime(b<{ frozen?: boolean }>(req).frozen ?? true),
  );
  app.get("/_emulator/bulk/:shop/:file", async (req, reply) => {
    const shop = store.shops.get(p(req)["shop"]!.toLowerCase());
    const id = Number(/^(\d+)\.jsonl$/.exec(p(req)["file"]!)?.[1]);
    const op = shop?.bulkOperations.get(id);
    if (!op || op.file === null)
      return reply.status(404).send({ error: { code: "NOT_FOUND", message: "No such result file" } });
    return reply.type("application/jsonl").send(createReadStream(op.file));
  });
  registerStagedUploads(app, store);
  return app;
}
