/**
 * Registers the hub's webhook subscriptions on a store: lists what exists, creates what is
 * missing (idempotent, safe to re-run on every connect). Other capabilities add topics by
 * passing them in (e.g. the orders intake adds ORDERS_CREATE).
 */
import type { AppContext } from "../core/context.ts";
import { graphql } from "../shopify/graphql.ts";
import { allNodes, type Connection } from "../shopify/pager.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { checkWebhooks } from "./webhook-health.ts";

export const BASE_WEBHOOK_TOPICS: readonly string[] = ["APP_UNINSTALLED"];

export const LIST_WEBHOOKS_QUERY = graphql`
  query TillbridgeWebhookSubscriptions($after: String) {
    webhookSubscriptions(first: 100, after: $after) {
      nodes {
        id
        topic
        uri
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

export const CREATE_WEBHOOK_MUTATION = graphql`
  mutation TillbridgeWebhookSubscriptionCreate(
    $topic: WebhookSubscriptionTopic!
    $webhookSubscription: WebhookSubscriptionInput!
  ) {
    webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
      webhookSubscription {
        id
        topic
      }
      userErrors {
        field
        message
      }
    }
  }
`;

export const DELETE_WEBHOOK_MUTATION = graphql`
  mutation TillbridgeWebhookSubscriptionDelete($id: ID!) {
    webhookSubscriptionDelete(id: $id) {
      deletedWebhookSubscriptionId
      userErrors {
        field
        message
      }
    }
  }
`;

export interface WebhookRegistration {
  readonly created: string[];
  readonly existing: string[];
  readonly failed: { topic: string; message: string }[];
  /**
   * The hub's own subscriptions at an old address (same webhook path, another origin: the public
   * URL changed) deleted once the topic's subscription at the current address existed.
   */
  readonly removed: { topic: string; uri: string }[];
  /** Old-address subscriptions Shopify refused to delete (tried again at the next check). */
  readonly removeFailed: { topic: string; uri: string; message: string }[];
}

/**
 * Whether a subscription is the hub's own at another address: its path is the hub's webhook path
 * (`/webhooks/shopify`) and its address is not the current one. Anything else the app holds (a
 * path the hub does not serve) is never touched.
 */
export function isOldHubAddress(subscriptionUri: string, currentUri: string): boolean {
  if (subscriptionUri === currentUri) return false;
  try {
    const old = new URL(subscriptionUri);
    const now = new URL(currentUri);
    return old.pathname.replace(/\/$/, "") === now.pathname.replace(/\/$/, "") && old.search === "";
  } catch {
    return false;
  }
}

export async function registerWebhooks(
  transport: AdminTransport,
  topics: readonly string[],
  uri: string,
  options: { removeOldAddresses: boolean } = { removeOldAddresses: true },
): Promise<WebhookRegistration> {
  const subscriptions = await allNodes(
    async (after) =>
      (
        await transport.graphql<{
          webhookSubscriptions: Connection<{ id: string; topic: string; uri: string }>;
        }>(LIST_WEBHOOKS_QUERY, { after })
      ).data.webhookSubscriptions,
  );
  const have = new Set(subscriptions.filter((s) => s.uri === uri).map((s) => s.topic));
  const out: WebhookRegistration = { created: [], existing: [], failed: [], removed: [], removeFailed: [] };
  for (const topic of new Set(topics)) {
    if (have.has(topic)) {
      out.existing.push(topic);
      continue;
    }
    const r = await transport.graphql<{
      webhookSubscriptionCreate: { userErrors: { field: string[] | null; message: string }[] };
    }>(CREATE_WEBHOOK_MUTATION, { topic, webhookSubscription: { uri, format: "JSON" } });
    const errors = r.data.webhookSubscriptionCreate.userErrors;
    if (errors.length > 0) out.failed.push({ topic, message: errors.map((e) => e.message).join("; ") });
    else {
      out.created.push(topic);
      have.add(topic);
    }
  }
  // Only after the current address holds the topic: a new public URL Shopify refuses (not HTTPS)
  // never costs the store the subscriptions that still deliver.
  for (const old of options.removeOldAddresses ? subscriptions : []) {
    if (!have.has(old.topic) || !isOldHubAddress(old.uri, uri)) continue;
    const r = await transport.graphql<{
      webhookSubscriptionDelete: { userErrors: { field: string[] | null; message: string }[] };
    }>(DELETE_WEBHOOK_MUTATION, { id: old.id });
    const errors = r.data.webhookSubscriptionDelete.userErrors;
    if (errors.length > 0)
      out.removeFailed.push({
        topic: old.topic,
        uri: old.uri,
        message: errors.map((e) => e.message).join("; "),
      });
    else out.removed.push({ topic: old.topic, uri: old.uri });
  }
  return out;
}

/**
 * Creates the subscriptions a connected store is missing and records the store's webhook health
 * (webhook-health.ts), run at start and on a schedule, so an upgrade's new topics and
 * subscriptions Shopify removed after failed deliveries come back. `uri` defaults to the public
 * URL in force (the console's override, else PUBLIC_URL).
 */
export async function ensureWebhooks(
  ctx: AppContext,
  store: { id: number; domain: string },
  transport: AdminTransport,
  topics: readonly string[],
  uri?: string,
): Promise<WebhookRegistration> {
  return (await checkWebhooks(ctx, store, transport, topics, uri ? { uri } : {})).registration;
}
