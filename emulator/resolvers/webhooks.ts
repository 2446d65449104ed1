// Webhook subscriptions, per app per shop. 2026-10 takes `webhookSubscription: { uri }`
// (`callbackUrl` is deprecated but still accepted). Addresses must be HTTPS (webhookUriProblem).
import { gid, parseGid } from "../gid.ts";
import { API_VERSION } from "../schema.ts";
import { hasScope } from "../scopes.ts";
import type { WebhookSubscription } from "../state.ts";
import { webhookUriProblem } from "../webhooks.ts";
import { type Ctx, connection, type PageArgs, type ResolverMap, tag, userError } from "./kit.ts";

const TOPIC_SCOPES: [string, string][] = [
  ["ORDERS_", "read_orders"],
  ["REFUNDS_", "read_orders"],
  ["FULFILLMENTS_", "read_orders"],
  ["FULFILLMENT_ORDERS_", "read_merchant_managed_fulfillment_orders"],
  ["INVENTORY_", "read_inventory"],
  ["PRODUCTS_", "read_products"],
  ["CUSTOMERS_", "read_customers"],
];

interface SubInput {
  uri?: string | null;
  callbackUrl?: string | null;
  filter?: string | null;
  includeFields?: string[] | null;
}

function mine(ctx: Ctx): WebhookSubscription[] {
  return [...ctx.shop.webhookSubscriptions.values()].filter((s) => s.appId === ctx.app.id);
}

function create(ctx: Ctx, args: { topic: string; webhookSubscription: SubInput }) {
  const uri = args.webhookSubscription.uri ?? args.webhookSubscription.callbackUrl ?? "";
  const field = args.webhookSubscription.uri != null ? "uri" : "callbackUrl";
  const problem = webhookUriProblem(uri, ctx.store.testOnlyAllowPlainHttpWebhooks);
  if (problem) {
    return { webhookSubscription: null, userErrors: [userError(problem, ["webhookSubscription", field])] };
  }
  const needed = TOPIC_SCOPES.find(([p]) => args.topic.startsWith(p))?.[1];
  if (needed && !hasScope(ctx.scopes, needed)) {
    return {
      webhookSubscription: null,
      userErrors: [
        userError(
          `You do not have permission to create webhooks with ${args.topic} topic (needs ${needed}).`,
          ["topic"],
        ),
      ],
    };
  }
  if (mine(ctx).some((s) => s.topic === args.topic && s.uri === uri)) {
    return {
      webhookSubscription: null,
      userErrors: [
        userError("Address for this topic has already been taken", ["webhookSubscription", field]),
      ],
    };
  }
  const sub: WebhookSubscription = {
    id: ctx.store.nextId(),
    appId: ctx.app.id,
    topic: args.topic,
    uri,
    filter: args.webhookSubscription.filter ?? null,
    includeFields: args.webhookSubscription.includeFields ?? [],
    createdAt: ctx.now,
    updatedAt: ctx.now,
  };
  ctx.shop.webhookSubscriptions.set(sub.id, sub);
  return { webhookSubscription: sub, userErrors: [] };
}

function find(ctx: Ctx, id: string): WebhookSubscription | undefined {
  const n = parseGid(id, "WebhookSubscription");
  const s = n === undefined ? undefined : ctx.shop.webhookSubscriptions.get(n);
  return s && s.appId === ctx.app.id ? s : undefined;
}

export const webhookResolvers: ResolverMap = {
  QueryRoot: {
    webhookSubscriptions: (
      _s,
      args: PageArgs & { topics?: string[] | null; uri?: string | null; callbackUrl?: string | null },
      ctx,
    ) => {
      const list = mine(ctx).filter(
        (s) =>
          (!args.topics || args.topics.includes(s.topic)) &&
          (!args.uri || s.uri === args.uri) &&
          (!args.callbackUrl || s.uri === args.callbackUrl),
      );
      return connection(list, args, ctx, (s) => s.id);
    },
    webhookSubscription: (_s, args: { id: string }, ctx) => find(ctx, args.id) ?? null,
  },
  Mutation: {
    webhookSubscriptionCreate: (_s, args, ctx) => create(ctx, args),
    webhookSubscriptionUpdate: (_s, args: { id: string; webhookSubscription: SubInput }, ctx) => {
      const sub = find(ctx, args.id);
      if (!sub)
        return {
          webhookSubscription: null,
          userErrors: [userError("Webhook subscription does not exist", ["id"])],
        };
      const uri = args.webhookSubscription.uri ?? args.webhookSubscription.callbackUrl;
      if (uri != null) {
        const problem = webhookUriProblem(uri, ctx.store.testOnlyAllowPlainHttpWebhooks);
        if (problem)
          return {
            webhookSubscription: null,
            userErrors: [userError(problem, ["webhookSubscription", "uri"])],
          };
        sub.uri = uri;
      }
      if (args.webhookSubscription.filter !== undefined) sub.filter = args.webhookSubscription.filter ?? null;
      if (args.webhookSubscription.includeFields != null)
        sub.includeFields = args.webhookSubscription.includeFields;
      sub.updatedAt = ctx.now;
      return { webhookSubscription: sub, userErrors: [] };
    },
    webhookSubscriptionDelete: (_s, args: { id: string }, ctx) => {
      const sub = find(ctx, args.id);
      if (!sub)
        return {
          deletedWebhookSubscriptionId: null,
          userErrors: [userError("Webhook subscription does not exist", ["id"])],
        };
      ctx.shop.webhookSubscriptions.delete(sub.id);
      return { deletedWebhookSubscriptionId: gid("WebhookSubscription", sub.id), userErrors: [] };
    },
  },
  WebhookSubscriptionCreatePayload: {
    webhookSubscription: (p) => p.webhookSubscription,
    userErrors: (p) => p.userErrors,
  },
  WebhookSubscriptionUpdatePayload: {
    webhookSubscription: (p) => p.webhookSubscription,
    userErrors: (p) => p.userErrors,
  },
  WebhookSubscriptionDeletePayload: {
    deletedWebhookSubscriptionId: (p) => p.deletedWebhookSubscriptionId,
    userErrors: (p) => p.userErrors,
  },
  WebhookSubscription: {
    id: (s: WebhookSubscription) => gid("WebhookSubscription", s.id),
    legacyResourceId: (s: WebhookSubscription) => String(s.id),
    topic: (s: WebhookSubscription) => s.topic,
    uri: (s: WebhookSubscription) => s.uri,
    callbackUrl: (s: WebhookSubscription) => s.uri,
    endpoint: (s: WebhookSubscription) => tag({ callbackUrl: s.uri }, "WebhookHttpEndpoint"),
    format: () => "JSON",
    filter: (s: WebhookSubscription) => s.filter,
    includeFields: (s: WebhookSubscription) => s.includeFields,
    metafieldNamespaces: () => [],
    name: () => null,
    createdAt: (s: WebhookSubscription) => s.createdAt,
    updatedAt: (s: WebhookSubscription) => s.updatedAt,
    apiVersion: () => ({ handle: API_VERSION, displayName: API_VERSION, supported: true }),
  },
  WebhookHttpEndpoint: { callbackUrl: (e) => e.callbackUrl },
  ApiVersion: { handle: (v) => v.handle, displayName: (v) => v.displayName, supported: (v) => v.supported },
};
