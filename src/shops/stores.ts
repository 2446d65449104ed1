/**
 * Connected stores: saving a connection (OAuth or custom app), the public view (never tokens),
 * disconnecting, the inventory mode and the per-flow state.
 */

import type { AppContext } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import type { Database, Db } from "../db/database.ts";
import type { FlowName, FlowState, InventoryMode, StoreTable } from "../db/tables.ts";
import { logActivity } from "./activity.ts";
import { missingScopes, parseScopes } from "./scopes.ts";
import { encryptSecret, sealedAt } from "./secrets.ts";

export const FLOWS: readonly FlowName[] = [
  "inventory_push",
  "order_intake",
  "fulfillment_push",
  "catalog_import",
  "catalog_publish",
  "customer_publish",
];

export type StoreRow = {
  [K in keyof StoreTable]: StoreTable[K] extends import("kysely").Generated<infer T> ? T : StoreTable[K];
};

export interface StoreView {
  readonly domain: string;
  readonly name: string;
  readonly authKind: StoreTable["auth_kind"];
  readonly status: StoreTable["status"];
  readonly statusReason: string | null;
  readonly inventoryMode: InventoryMode;
  readonly scopes: string[];
  readonly connectedAt: string;
  readonly disconnectedAt: string | null;
  readonly accessTokenExpiresAt: string | null;
  readonly flows: { flow: FlowName; state: FlowState; missingScopes: string[] }[];
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/**
 * Bumped whenever this process connects or disconnects a store, so caches of store rows (the
 * webhook endpoint's) drop them at once; other processes' changes are seen within their TTL.
 */
let connectionsVersion = 0;
export const storeConnectionsVersion = () => connectionsVersion;

export async function findStore(database: Database, domain: string): Promise<StoreRow | undefined> {
  return (await database.db
    .selectFrom("stores")
    .selectAll()
    .where("domain", "=", domain.toLowerCase())
    .executeTakeFirst()) as StoreRow | undefined;
}

export async function storeById(database: Database, id: number): Promise<StoreRow | undefined> {
  return (await database.db.selectFrom("stores").selectAll().where("id", "=", id).executeTakeFirst()) as
    | StoreRow
    | undefined;
}

export async function requireStore(database: Database, domain: string): Promise<StoreRow> {
  const store = await findStore(database, domain);
  if (!store) throw new AppError("UNKNOWN_STORE", `no store ${domain} is connected to this hub`);
  return { ...store, id: Number(store.id) };
}

export async function flowStates(db: Db, storeId: number): Promise<Map<FlowName, FlowState>> {
  const rows = await db
    .selectFrom("flows")
    .select(["flow", "state"])
    .where("store_id", "=", storeId)
    .execute();
  return new Map(rows.map((r) => [r.flow, r.state]));
}

export async function storeView(database: Database, store: StoreRow): Promise<StoreView> {
  const states = await flowStates(database.db, Number(store.id));
  return {
    domain: store.domain,
    name: store.name,
    authKind: store.auth_kind,
    status: store.status,
    statusReason: store.status_reason,
    inventoryMode: store.inventory_mode,
    scopes: parseScopes(store.scopes),
    connectedAt: iso(store.connected_at)!,
    disconnectedAt: iso(store.disconnected_at),
    accessTokenExpiresAt: iso(store.access_token_expires_at),
    flows: FLOWS.map((flow) => ({
      flow,
      state: states.get(flow) ?? "disabled",
      missingScopes: missingScopes(store, flow),
    })),
  };
}

export async function listStores(database: Database): Promise<StoreView[]> {
  const rows = (await database.db.selectFrom("stores").selectAll().orderBy("domain").execute()) as StoreRow[];
  return Promise.all(rows.map((r) => storeView(database, r)));
}

export interface Connection {
  readonly domain: string;
  readonly name: string;
  readonly authKind: StoreTable["auth_kind"];
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number | null;
  readonly refreshToken: string | null;
  readonly refreshTokenExpiresAt: number | null;
  readonly scopes: readonly string[];
  readonly webhookSecret?: string | null | undefined;
}

/**
 * Stores a connection (tokens encrypted), creating the store or reconnecting it, and its flow
 * rows (new flows start disabled; a reconnected store keeps its flows paused until resumed).
 * Returns the store id.
 */
export async function saveConnection(
  database: Database,
  c: Connection,
  key: Buffer,
  now: number,
): Promise<number> {
  connectionsVersion++;
  const domain = c.domain.toLowerCase();
  const values = {
    name: c.name,
    auth_kind: c.authKind,
    access_token_enc: encryptSecret(c.accessToken, key, sealedAt.storeColumn("access_token_enc", domain)),
    access_token_expires_at: c.accessTokenExpiresAt,
    refresh_token_enc:
      c.refreshToken === null
        ? null
        : encryptSecret(c.refreshToken, key, sealedAt.storeColumn("refresh_token_enc", domain)),
    refresh_token_expires_at: c.refreshTokenExpiresAt,
    scopes: parseScopes(c.scopes).join(","),
    webhook_secret_enc: c.webhookSecret
      ? encryptSecret(c.webhookSecret, key, sealedAt.storeColumn("webhook_secret_enc", domain))
      : null,
    status: "active" as const,
    status_reason: null,
    connected_at: now,
    disconnected_at: null,
    updated_at: now,
  };
  return database.db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom("stores")
      .select("id")
      .where("domain", "=", domain)
      .executeTakeFirst();
    let id: number;
    if (existing) {
      id = Number(existing.id);
      await trx.updateTable("stores").set(values).where("id", "=", id).execute();
    } else {
      const row = await trx
        .insertInto("stores")
        .values({ ...values, domain, inventory_mode: "delta" })
        .returning("id")
        .executeTakeFirstOrThrow();
      id = Number(row.id);
    }
    const have = await flowStates(trx, id);
    const missing = FLOWS.filter((f) => !have.has(f));
    if (missing.length > 0) {
      await trx
        .insertInto("flows")
        .values(missing.map((flow) => ({ store_id: id, flow, state: "disabled" as const, updated_at: now })))
        .execute();
    }
    await logActivity(
      trx,
      {
        storeId: id,
        flow: "connection",
        kind: existing ? "reconnected" : "connected",
        message: `${domain} connected (${c.authKind === "oauth" ? "OAuth install" : "custom-app token"})`,
        data: { domain, scopes: parseScopes(c.scopes) },
      },
      now,
    );
    return id;
  });
}

/**
 * Stops every flow of the store at once: status disconnected, enabled flows paused, tokens
 * forgotten. Mapping, links, sync state and history stay.
 */
export async function disconnectStore(
  database: Database,
  storeId: number,
  reason: string,
  now: number,
): Promise<void> {
  connectionsVersion++;
  await database.db.transaction().execute(async (trx) => {
    await trx
      .updateTable("stores")
      .set({
        status: "disconnected",
        status_reason: reason,
        disconnected_at: now,
        access_token_enc: null,
        access_token_expires_at: null,
        refresh_token_enc: null,
        refresh_token_expires_at: null,
        updated_at: now,
      })
      .where("id", "=", storeId)
      .execute();
    await trx
      .updateTable("flows")
      .set({ state: "paused", updated_at: now })
      .where("store_id", "=", storeId)
      .where("state", "=", "enabled")
      .execute();
    await logActivity(
      trx,
      {
        storeId,
        flow: "connection",
        kind: "disconnected",
        level: "warn",
        message: `disconnected: ${reason}`,
      },
      now,
    );
  });
}

/**
 * Saves a store's inventory mode, then tells the listeners (the inventory push: switching to
 * absolute makes every linked item due once, read back first; src/inventory/push/inventory-mode.ts).
 */
export async function setInventoryMode(
  ctx: Pick<AppContext, "database" | "inventoryModeListeners">,
  storeId: number,
  mode: InventoryMode,
  now: number,
): Promise<void> {
  const { database } = ctx;
  await database.db.transaction().execute(async (trx) => {
    await trx
      .updateTable("stores")
      .set({ inventory_mode: mode, updated_at: now })
      .where("id", "=", storeId)
      .execute();
    await logActivity(
      trx,
      { storeId, flow: "inventory_push", kind: "mode_changed", message: `inventory mode set to ${mode}` },
      now,
    );
  });
  for (const listener of ctx.inventoryModeListeners ?? []) await listener(database.db, storeId, mode, now);
}

/**
 * Sets one flow's state. Enabling (or resuming) needs an active store and every scope the flow
 * needs; the error names the missing scope. Pausing a disabled flow leaves it disabled.
 */
export async function setFlowState(
  database: Database,
  storeId: number,
  flow: FlowName,
  state: FlowState,
  now: number,
): Promise<FlowState> {
  const store = await storeById(database, storeId);
  if (!store) throw new AppError("UNKNOWN_STORE", `no store with id ${storeId}`);
  if (state === "enabled") {
    if (store.status !== "active") {
      throw new AppError(
        "STORE_DISCONNECTED",
        `${store.domain} is disconnected (${store.status_reason ?? "by the operator"}); reconnect it before enabling ${flow}`,
      );
    }
    const missing = missingScopes(store, flow);
    if (missing.length > 0) {
      throw new AppError(
        "MISSING_SCOPE",
        `${flow} needs the access scope ${missing.join(", ")}, which ${store.domain} has not granted; reinstall the app (or give the custom app that scope) and try again`,
        missing.map((s) => ({ code: "MISSING_SCOPE", id: s, message: `missing scope ${s}` })),
      );
    }
  }
  return database.db.transaction().execute(async (trx) => {
    const current = (await flowStates(trx, storeId)).get(flow) ?? "disabled";
    const next: FlowState = state === "paused" && current === "disabled" ? "disabled" : state;
    if (next === current) return current;
    await trx
      .insertInto("flows")
      .values({ store_id: storeId, flow, state: next, updated_at: now })
      .onConflict((oc) => oc.columns(["store_id", "flow"]).doUpdateSet({ state: next, updated_at: now }))
      .execute();
    await logActivity(
      trx,
      { storeId, flow, kind: `flow_${next}`, message: `${flow}: ${current} → ${next}` },
      now,
    );
    return next;
  });
}
