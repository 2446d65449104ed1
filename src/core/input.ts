/**
 * Input bounds shared by every route: what may reach the database. Keys (SKU, warehouse code,
 * movement and shipment ids, barcodes) are NFC-normalised so `é` typed two ways is one key and
 * refuse every control character; free text refuses control characters except tab and newline;
 * quantities and counts are bounded so they fit the columns on both databases.
 *
 * `screenInput` is the net under every route: it walks a parsed body, query or params and names
 * the first string holding NUL or another control character (or a broken UTF-16 surrogate), and
 * the first number that is not a safe integer where integers are stored.
 */
import { z } from "zod";
import type { ErrorDetail } from "./errors.ts";

/** |quantity| of one movement or shipment line, and the largest count or safety stock. */
export const MAX_QUANTITY = 1_000_000_000;
/** Ids the hub stores as integers (order ids, customer ids…). */
export const MAX_ID = Number.MAX_SAFE_INTEGER;

/** Every C0 and C1 control character and DEL. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
/** The same, except tab, line feed and carriage return (free text such as notes). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u;
/** A lone UTF-16 surrogate (JSON's `\ud800` escapes can produce one). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (v: string) => !LONE_SURROGATE.test(v);

export function controlCharacterProblem(value: string, allowNewlines: boolean): string | undefined {
  if (!wellFormed(value)) return "holds a broken UTF-16 surrogate (not valid Unicode text)";
  const m = (allowNewlines ? CONTROL_IN_TEXT : CONTROL).exec(value);
  if (!m) return undefined;
  const code = m[0].codePointAt(0)!;
  const name = code === 0 ? "NUL" : `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  return `must not contain control characters (found ${name} at position ${m.index})${
    allowNewlines ? "; only tab and newline are allowed" : ""
  }`;
}

/** Refuses control characters (tab and newline too, unless `allowNewlines`), naming the first. */
const screened = (schema: z.ZodString, allowNewlines: boolean) =>
  schema.superRefine((v, c) => {
    const p = controlCharacterProblem(v, allowNewlines);
    if (p) c.addIssue({ code: "custom", message: p });
  });

/** A key: trimmed of nothing, NFC-normalised, no control characters at all. */
export function key(max: number) {
  return screened(z.string().min(1).max(max), false).transform((v) => v.normalize("NFC"));
}

/** A key compared after trimming surrounding blanks (SKU, barcode). */
export function trimmedKey(max: number) {
  return screened(z.string().trim().min(1).max(max), false).transform((v) => v.normalize("NFC"));
}

/** A single-line text (names, titles): no control characters. */
export function line(max: number) {
  return screened(z.string().max(max), false);
}

/** Free text (notes, reasons): tab and newline allowed, other control characters refused. */
export function text(max: number) {
  return screened(z.string().max(max), true);
}

/** A signed quantity, |q| ≤ 10^9. */
export function quantity() {
  return z
    .number()
    .int()
    .min(-MAX_QUANTITY, `a quantity is at most ${MAX_QUANTITY} units either way`)
    .max(MAX_QUANTITY, `a quantity is at most ${MAX_QUANTITY} units either way`);
}

/** A count of units, 0 ≤ n ≤ 10^9. */
export function count() {
  return z.number().int().min(0).max(MAX_QUANTITY, `a count is at most ${MAX_QUANTITY} units`);
}

/** An integer id the hub stores (≥ 1, a safe integer). */
export function intId() {
  return z.number().int().positive().max(MAX_ID);
}

/** Normalises a key read outside a schema (e.g. a raw batch before validation). */
export const normalizeKey = (v: string): string => (wellFormed(v) ? v.normalize("NFC") : v);

const MAX_SCREEN_DEPTH = 32;

/**
 * The net under every route: control characters are refused in object keys and in strings
 * (tab/newline excepted: free-text fields allow them and their own schemas refuse them in keys),
 * and numbers must be safe integers or finite.
 */
export function screenInput(value: unknown, path: string): ErrorDetail | undefined {
  const walk = (v: unknown, p: string, depth: number): ErrorDetail | undefined => {
    if (typeof v === "string") {
      const problem = controlCharacterProblem(v, true);
      return problem
        ? { path: p || "(body)", code: "CONTROL_CHARACTER", message: `${p || "the value"} ${problem}` }
        : undefined;
    }
    if (typeof v === "number") {
      if (!Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v)))
        return {
          path: p || "(body)",
          code: "NUMBER_OUT_OF_RANGE",
          message: `${p || "the value"} is outside the range the hub accepts (at most ${Number.MAX_SAFE_INTEGER} in size)`,
        };
      return undefined;
    }
    if (typeof v !== "object" || v === null) return undefined;
    if (depth > MAX_SCREEN_DEPTH)
      return { path: p || "(body)", code: "TOO_DEEP", message: `${p || "the body"} is nested too deeply` };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const d = walk(v[i], `${p}[${i}]`, depth + 1);
        if (d) return d;
      }
      return undefined;
    }
    for (const [k, child] of Object.entries(v)) {
      const kp = p ? `${p}.${k}` : k;
      const keyProblem = controlCharacterProblem(k, false);
      if (keyProblem)
        return {
          path: p || "(body)",
          code: "CONTROL_CHARACTER",
          message: `a field name in ${p || "the body"} ${keyProblem}`,
        };
      const d = walk(child, kp, depth + 1);
      if (d) return d;
    }
    return undefined;
  };
  return walk(value, path, 0);
}
