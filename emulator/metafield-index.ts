/**
 * Products by the value of one of their metafields (namespace, key), per shop: the custom-id
 * lookups of `productSet` and `productByIdentifier` and the unique-values check without scanning
 * every product of the shop for each call (a first publish of 10,000 products made that quadratic).
 *
 * An index of a field is built on its first lookup from the shop's products, then kept by every
 * write of a product's metafields (`indexProductMetafields`, called where products.ts assigns
 * them) and every deletion (`unindexProduct`).
 */
import type { Product, Shop } from "./state.ts";

type FieldIndex = Map<string, Set<Product>>;
const indexes = new WeakMap<Shop, Map<string, FieldIndex>>();
/** Per product and indexed field, the value it is indexed under. */
const indexedAs = new WeakMap<Product, Map<string, string>>();

const fieldOf = (namespace: string, key: string) => `${namespace}\u0000${key}`;
const metafieldValue = (p: Product, namespace: string, key: string) =>
  p.metafields?.find((m) => m.namespace === namespace && m.key === key)?.value;

function unindex(idx: FieldIndex, field: string, p: Product) {
  const old = indexedAs.get(p)?.get(field);
  if (old === undefined) return;
  const holders = idx.get(old);
  holders?.delete(p);
  if (holders?.size === 0) idx.delete(old);
  indexedAs.get(p)!.delete(field);
}

function add(idx: FieldIndex, field: string, p: Product, namespace: string, key: string) {
  const value = metafieldValue(p, namespace, key);
  if (value === undefined || value === null) return;
  const holders = idx.get(value) ?? new Set<Product>();
  idx.set(value, holders);
  holders.add(p);
  const mine = indexedAs.get(p) ?? new Map<string, string>();
  indexedAs.set(p, mine);
  mine.set(field, value);
}

/** The shop's products holding `value` in the metafield (namespace, key), in no particular order. */
export function productsWithMetafield(shop: Shop, namespace: string, key: string, value: string): Product[] {
  const byField = indexes.get(shop) ?? new Map<string, FieldIndex>();
  indexes.set(shop, byField);
  const field = fieldOf(namespace, key);
  let idx = byField.get(field);
  if (!idx) {
    idx = new Map();
    byField.set(field, idx);
    for (const p of shop.products.values()) add(idx, field, p, namespace, key);
  }
  return [...(idx.get(value) ?? [])].filter((p) => shop.products.get(p.id) === p);
}

/** After a product's metafields were assigned: its values in every indexed field. */
export function indexProductMetafields(shop: Shop, p: Product): void {
  const byField = indexes.get(shop);
  if (!byField) return;
  for (const [field, idx] of byField) {
    const [namespace, key] = field.split("\u0000") as [string, string];
    unindex(idx, field, p);
    add(idx, field, p, namespace, key);
  }
}

/** A product deleted from the shop. */
export function unindexProduct(shop: Shop, p: Product): void {
  const byField = indexes.get(shop);
  if (!byField) return;
  for (const [field, idx] of byField) unindex(idx, field, p);
}
