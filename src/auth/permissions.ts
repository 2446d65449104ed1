/**
 * Who may do what. A route names the one permission it needs; API keys carry scopes and
 * operator accounts carry a role, and both grant permissions through the tables below.
 * Pure: the HTTP layer asks `allows` and nothing else.
 */

/** What a route needs. */
export const PERMISSIONS = [
  "stock.read",
  "stock.write",
  "orders.read",
  "orders.write",
  "store.read",
  "store.operate",
  "admin",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** What an API key is made for (`tillbridge api-key create --scope …`). */
export const SCOPES = ["stock", "orders", "read", "operate", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  stock: "post movements, warehouses, variants and safety stock; read stock (a till, a WMS)",
  orders: "read the order feed with customers' data, acknowledge orders, post shipments (an ERP)",
  read: "read everything: stores, flows, orders, stock, activity (a dashboard)",
  operate: "read everything and run flows: pause, resume, link, dry run, replay, settings",
  admin: "everything, including connecting stores, outbound addresses and access",
};

const GRANTS: Record<Scope, readonly Permission[]> = {
  stock: ["stock.read", "stock.write"],
  orders: ["orders.read", "orders.write", "stock.read"],
  read: ["stock.read", "orders.read", "store.read"],
  operate: ["stock.read", "orders.read", "store.read", "store.operate"],
  admin: PERMISSIONS,
};

/** Operators sign in with a role; a role is a fixed set of scopes. */
export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  viewer: ["read"],
  operator: ["operate", "orders"],
  admin: ["admin"],
};

export function allows(scopes: readonly Scope[], needed: Permission): boolean {
  return scopes.some((s) => GRANTS[s].includes(needed));
}

/** Parses `stock,orders` (CLI, API); unknown names are reported, not dropped. */
export function parseScopes(text: string): { ok: true; scopes: Scope[] } | { ok: false; unknown: string[] } {
  const names = [
    ...new Set(
      text
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = names.filter((n) => !(SCOPES as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) return { ok: false, unknown };
  return { ok: true, scopes: names as Scope[] };
}
