/** Which Shopify order a webhook delivery concerns, kept with the delivery in the inbox. */

/**
 * The Shopify order a delivery concerns (kept with it, so an order's history finds its
 * deliveries): the order itself for `orders/*`, its `order_id` for refunds, fulfillments and
 * transactions; null for other topics or a body that is not JSON.
 */
export function orderGidOf(topic: string, body: string): string | null {
  const own = topic.startsWith("orders/");
  if (!own && !/^(refunds|fulfillments|order_transactions)\//.test(topic)) return null;
  try {
    const b = JSON.parse(body) as { id?: unknown; order_id?: unknown };
    const id = own ? b.id : b.order_id;
    return (typeof id === "number" && Number.isSafeInteger(id)) ||
      (typeof id === "string" && /^\d{1,20}$/.test(id))
      ? `gid://shopify/Order/${id}`
      : null;
  } catch {
    return null;
  }
}
