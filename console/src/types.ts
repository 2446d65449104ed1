/** The shapes of the hub's answers the console reads (see GET /api/v1/openapi.json). */

export type FlowName =
  | "inventory_push"
  | "order_intake"
  | "fulfillment_push"
  | "catalog_import"
  | "catalog_publish"
  | "customer_publish";
export type FlowState = "disabled" | "enabled" | "paused";

export interface StoreView {
  readonly domain: string;
  readonly name: string;
  readonly authKind: "oauth" | "custom_app";
  readonly status: "active" | "disconnected";
  readonly statusReason: string | null;
  readonly inventoryMode: "delta" | "absolute";
  readonly scopes: readonly string[];
  readonly connectedAt: string;
  readonly flows: readonly { flow: FlowName; state: FlowState; missingScopes: readonly string[] }[];
}

export interface FlowStatusView {
  readonly flow: FlowName;
  readonly state: FlowState;
  readonly status: "running" | "paused" | "failing" | "disconnected" | "disabled";
  readonly reason: string | null;
  readonly backlog: number;
  readonly lagSeconds: number | null;
  readonly lastSuccessAt: number | null;
}

export interface LocationView {
  readonly locationId: string;
  readonly name: string;
  readonly activeInShopify: boolean;
  readonly warehouses: readonly string[];
  readonly managed: boolean;
  readonly default: boolean;
  readonly [k: string]: unknown;
}

export interface Job {
  readonly id: number;
  readonly kind: "link" | "dry_run" | "drift_check" | "initial_sync" | "after_connect" | "read_levels";
  readonly store: string;
  readonly status: "queued" | "running" | "done" | "failed" | "cancelled";
  readonly progress: { phase: string; done?: number; total?: number } | null;
  readonly result: unknown;
  readonly error: string | null;
  readonly createdAt?: string | number;
  readonly finishedAt?: string | number | null;
  readonly [k: string]: unknown;
}

export interface DryRunRow {
  readonly sku: string;
  readonly location: string;
  readonly locationId: string;
  readonly shopify: { onHand: number; available: number; committed: number };
  readonly hub: { onHand: number; available: number; committed: number };
  readonly difference: number;
  readonly cause: string | null;
}

export interface DryRunReport {
  readonly checked: number;
  /** checked = inSync + differing. */
  readonly inSync?: number;
  readonly differing?: number;
  readonly wouldChange: number;
  readonly keptByDelta: number;
  readonly rows: readonly DryRunRow[];
  readonly rowsOmitted: number;
  readonly mode: "delta" | "absolute";
}

export interface LinkProblem {
  readonly [k: string]: unknown;
}

export const FLOW_LABELS: Record<FlowName, string> = {
  inventory_push: "Inventory push",
  order_intake: "Order intake",
  fulfillment_push: "Fulfillment push",
  catalog_import: "Catalog import",
  catalog_publish: "Catalog publish",
  customer_publish: "Customer publish",
};

export const FLOW_ABOUT: Record<FlowName, string> = {
  inventory_push: "Sends the hub's sellable stock to Shopify's mapped locations.",
  order_intake:
    "Imports Shopify's orders into the hub, reserving their stock, and sends them to the back office.",
  fulfillment_push: "Sends the back office's shipments to Shopify as fulfillments with tracking.",
  catalog_import: "Reads Shopify's products and variants into the hub.",
  catalog_publish: "Writes the hub's products and prices to Shopify, keeping what the merchant added.",
  customer_publish:
    "Writes the back office's customers (and their companies) to Shopify, linking those Shopify already has.",
};
