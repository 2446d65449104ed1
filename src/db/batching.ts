/** Splits work so no single statement exceeds the databases' bound-parameter limits. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Keys of a (variant, warehouse) pair for maps. */
export const levelKey = (variantId: number, warehouseId: number) => `${variantId}:${warehouseId}`;
