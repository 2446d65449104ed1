/**
 * The sentences that sum something up on the console's screens, as pure functions whose parts
 * add up (test/console-summaries.test.ts checks it with fast-check): an operator once read
 * "18 checked, 0 drifted, 18 fixed". Numbers from the hub are clamped to what can be true, so a
 * stored result from before the hub's summaries added up cannot make a sentence contradict itself.
 *
 *   dry run:      compared = agree + differ
 *   drift check:  compared = agree + differed;  differed = corrected + left
 *   failures:     total = Σ of the kinds listed (every kind the hub counts is listed)
 */

const whole = (n: unknown) => (typeof n === "number" && Number.isFinite(n) ? Math.max(0, Math.trunc(n)) : 0);
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export interface DryRunNumbers {
  readonly mode: "delta" | "absolute";
  readonly checked: number;
  /** Where Shopify differs from the hub (checked = inSync + differing); absent in older answers. */
  readonly differing?: number;
  readonly wouldChange: number;
  readonly keptByDelta: number;
  /** Rows listed, and rows counted but not listed. */
  readonly rows: readonly { difference: number }[];
  readonly rowsOmitted: number;
}

export function dryRunSentence(r: DryRunNumbers): string {
  const checked = whole(r.checked);
  // The hub's count covers every item-location; the rows listed may be the first of them.
  const listedDiffer = r.rows.filter((x) => x.difference !== 0).length;
  const differ = Math.min(r.differing === undefined ? listedDiffer : whole(r.differing), checked);
  const agree = checked - differ;
  const listed =
    whole(r.rowsOmitted) > 0
      ? ` The first ${r.rows.length} rows are listed below (${whole(r.rowsOmitted)} more not listed).`
      : "";
  const head = `${checked} item-locations compared: ${differ} differ, ${agree} already agree.${listed}`;
  if (r.mode === "absolute")
    return differ === 0 ? head : `${head} The push would set all ${differ} to the hub's count.`;
  const own = Math.min(whole(r.wouldChange), checked);
  const sends =
    own === 0 ? "" : ` Separately, ${plural(own, "change", "changes")} of the hub's own wait to be sent.`;
  return differ === 0
    ? `${head}${sends}`
    : `${head} Delta mode keeps Shopify's own count at those ${differ} until an initial sync sends the hub's count once.${sends}`;
}

export function driftSentence(r: { checked?: number; drifted?: number; fixed?: number }): string {
  const checked = whole(r.checked);
  const drifted = Math.min(whole(r.drifted), checked);
  const fixed = Math.min(whole(r.fixed), drifted);
  if (drifted === 0) return `${checked} compared, all agree`;
  return `${checked} compared: ${checked - drifted} agree, ${drifted} differed, of which ${fixed} corrected and ${drifted - fixed} left as Shopify has them`;
}

export function linkSentence(r: { bySku?: number; byBarcode?: number; problems?: number }): string {
  const bySku = whole(r.bySku);
  const byBarcode = whole(r.byBarcode);
  return `${bySku + byBarcode} linked (${bySku} by SKU, ${byBarcode} by barcode), ${plural(whole(r.problems), "problem", "problems")}`;
}

/**
 * "N to look at: a x, b y." over every kind the hub counted: kinds the console has no label for
 * (a newer hub) are listed by their name, so the parts always add up to the total.
 */
export function failuresSentence(
  counts: Readonly<Record<string, number>>,
  labels: Readonly<Record<string, { one: string; many: string }>>,
): string {
  const known = Object.keys(labels);
  const kinds = [...known, ...Object.keys(counts).filter((k) => !known.includes(k))].filter(
    (k) => whole(counts[k]) > 0,
  );
  const total = kinds.reduce((n, k) => n + whole(counts[k]), 0);
  if (total === 0) return "Nothing needs attention.";
  const part = (k: string) => {
    const n = whole(counts[k]);
    const l = labels[k] ?? { one: k.replace(/_/g, " "), many: k.replace(/_/g, " ") };
    return `${n} ${n === 1 ? l.one : l.many}`;
  };
  return `${total} to look at: ${kinds.map(part).join(", ")}.`;
}
