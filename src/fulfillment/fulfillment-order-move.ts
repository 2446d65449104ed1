/**
 * `fulfillmentOrderMove`, used by the back office's "ship from another store" (order-actions.ts)
 * and by the delivery of a shipment whose units Shopify expects at another location (deliver.ts).
 * With `lines`, only those units move (Shopify splits the fulfillment order); without, all of it.
 */
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";

export const FULFILLMENT_ORDER_MOVE_MUTATION = graphql`
  mutation TillbridgeFulfillmentOrderMove(
    $id: ID!
    $newLocationId: ID!
    $fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!]
  ) {
    fulfillmentOrderMove(
      id: $id
      newLocationId: $newLocationId
      fulfillmentOrderLineItems: $fulfillmentOrderLineItems
    ) {
      movedFulfillmentOrder {
        id
        status
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export interface MoveUserError {
  field: string[] | null;
  message: string;
  code?: string | null;
}

/** The moved fulfillment order's gid, or Shopify's userErrors. Throws on transport failures. */
export async function moveFulfillmentOrder(
  transport: AdminTransport,
  fulfillmentOrderGid: string,
  locationGid: string,
  lines?: readonly { foLineGid: string; quantity: number }[],
): Promise<{ moved: string | null; userErrors: MoveUserError[] }> {
  const { data } = await transport.graphql<{
    fulfillmentOrderMove: {
      movedFulfillmentOrder: { id: string } | null;
      userErrors: MoveUserError[];
    } | null;
  }>(
    FULFILLMENT_ORDER_MOVE_MUTATION,
    {
      id: fulfillmentOrderGid,
      newLocationId: locationGid,
      fulfillmentOrderLineItems: lines ? lines.map((l) => ({ id: l.foLineGid, quantity: l.quantity })) : null,
    },
    { estimatedCost: 10 },
  );
  return {
    moved: data.fulfillmentOrderMove?.movedFulfillmentOrder?.id ?? null,
    userErrors: data.fulfillmentOrderMove?.userErrors ?? [],
  };
}
