// Shopify global ids: gid://shopify/<Type>/<number>.

export function gid(type: string, id: number): string {
  return `gid://shopify/${type}/${id}`;
}

/** The numeric id of a gid of the expected type, or undefined when it is not one. */
export function parseGid(value: unknown, type: string): number | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d+)(?:\?.*)?$/.exec(value);
  if (!m || m[1] !== type) return undefined;
  return Number(m[2]);
}

export function gidType(value: string): string | undefined {
  return /^gid:\/\/shopify\/([A-Za-z]+)\/\d+/.exec(value)?.[1];
}
