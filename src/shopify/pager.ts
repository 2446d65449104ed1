/**
 * Shopify's cursor paging, written once. A connection answers `nodes` and
 * `pageInfo { hasNextPage endCursor }`; the next page is asked for with `after: endCursor`.
 * Callers give the one call that reads a page for a cursor (their own GraphQL operation, kept
 * beside their code) and walk the pages as they come, so a caller that records progress after
 * each page (the order backfill's cursor) or stops early still can.
 */

export interface PageInfo {
  readonly hasNextPage: boolean;
  readonly endCursor?: string | null;
}

export interface Connection<N> {
  readonly nodes: readonly N[];
  readonly pageInfo: PageInfo;
}

/**
 * The pages of a connection, first to last. `readPage(after)` reads the page after a cursor
 * (null: the first) and answers the connection, or null when its owner is gone (an order or a
 * location deleted meanwhile): the walk ends there. A page that says there is a next one but
 * gives no cursor ends the walk too (asking again for the same page would loop).
 */
export async function* pages<N>(
  readPage: (after: string | null) => Promise<Connection<N> | null>,
  options: { readonly after?: string | null; readonly maxPages?: number } = {},
): AsyncGenerator<readonly N[], void, undefined> {
  let after = options.after ?? null;
  const maxPages = options.maxPages ?? Number.POSITIVE_INFINITY;
  for (let n = 0; n < maxPages; n++) {
    const page = await readPage(after);
    if (!page) return;
    yield page.nodes;
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return;
    after = page.pageInfo.endCursor;
  }
}

/** Every node of a connection (small connections only: locations, webhook subscriptions, an order's lines). */
export async function allNodes<N>(
  readPage: (after: string | null) => Promise<Connection<N> | null>,
  options: { readonly after?: string | null; readonly maxPages?: number } = {},
): Promise<N[]> {
  const out: N[] = [];
  for await (const nodes of pages(readPage, options)) out.push(...nodes);
  return out;
}
