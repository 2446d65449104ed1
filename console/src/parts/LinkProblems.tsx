/** Variants that could not be linked, each with what to do about it. */
import { Table } from "../ui.tsx";

export interface LinkProblemView {
  readonly kind: string;
  readonly sku: string | null;
  readonly barcode: string | null;
  readonly productVariantId: string | null;
  readonly detail: string | null;
  /** Shopify variants to pick one of (older hubs' answers lack it). */
  readonly candidates?: readonly string[];
}

export const LINK_PROBLEM_HELP: Record<string, { label: string; todo: string }> = {
  duplicate_sku_in_shopify: {
    label: "SKU used twice in Shopify",
    todo: "Give each of these Shopify variants its own SKU in Shopify's admin, then link again.",
  },
  duplicate_barcode_in_shopify: {
    label: "Barcode used twice in Shopify",
    todo: "Correct the barcode of one of these variants in Shopify's admin (or give them SKUs), then link again.",
  },
  not_in_shopify: {
    label: "Not in Shopify",
    todo: "The hub has this SKU but the store does not: create it in Shopify, or ignore it if the store does not sell it.",
  },
  not_in_hub: {
    label: "Not in the hub",
    todo: "Shopify sells this SKU but the back office never sent it: add it in the back office (it reaches the hub as a variant), then link again.",
  },
  deleted_in_shopify: {
    label: "Deleted in Shopify",
    todo: "The variant was removed from Shopify: nothing is pushed for it any more. Recreate it in Shopify if that was a mistake.",
  },
  no_sku_or_barcode: {
    label: "No SKU or barcode",
    todo: "This Shopify variant has neither SKU nor barcode, so nothing matches it: give it a SKU in Shopify's admin, then import or link again.",
  },
  hub_variant_matches_two: {
    label: "Matches two Shopify variants",
    todo: "One hub variant matches one Shopify variant by SKU and another by barcode: correct the other variant's barcode in Shopify (or pick one by linking it by hand), then link again.",
  },
  sku_changed_in_shopify: {
    label: "SKU changed in Shopify",
    todo: "The SKU of this Shopify variant was changed to one the hub does not have: nothing is pushed for it. Restore the SKU in Shopify, or send the new SKU from the back office.",
  },
};

const shortId = (gid: string) => gid.replace("gid://shopify/ProductVariant/", "");

/**
 * `onPick`, when given (an operator's screen), offers "pick one" for a SKU that matches several
 * Shopify variants: one button per candidate links the hub's SKU to it by hand.
 */
export function LinkProblems({
  items,
  id,
  onPick,
  busy,
}: {
  items: readonly LinkProblemView[];
  id?: string;
  onPick?: (sku: string, productVariantId: string) => void;
  busy?: boolean;
}) {
  return (
    <Table
      id={id}
      caption="Link problems"
      headers={["Problem", "SKU", "Barcode", "Shopify variant", "What to do"]}
      count={items.length}
      empty="No link problems: every variant is linked."
    >
      {items.map((p, i) => {
        const help = LINK_PROBLEM_HELP[p.kind];
        return (
          <tr
            key={`${p.kind}-${p.sku}-${p.productVariantId}-${i}`}
            data-problem={p.kind}
            data-sku={p.sku ?? ""}
          >
            <td>{help?.label ?? p.kind}</td>
            <td>{p.sku ?? "—"}</td>
            <td>{p.barcode ?? "—"}</td>
            <td class="mono">{p.productVariantId ? shortId(p.productVariantId) : "—"}</td>
            <td>
              {help?.todo ?? ""}
              {p.detail && <div class="muted">{p.detail}</div>}
              {onPick && p.sku && (p.candidates?.length ?? 0) > 0 && (
                <fieldset class="toolbar pick">
                  <legend>Pick the Shopify variant for {p.sku}</legend>
                  {p.candidates!.map((c) => (
                    <button
                      type="button"
                      key={c}
                      class="secondary"
                      disabled={busy}
                      data-candidate={shortId(c)}
                      onClick={() => onPick(p.sku!, c)}
                    >
                      Link {p.sku} to {shortId(c)}
                    </button>
                  ))}
                </fieldset>
              )}
            </td>
          </tr>
        );
      })}
    </Table>
  );
}
