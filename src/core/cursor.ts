/**
 * Opaque keyset cursors for the operator console's lists: the sort key of a page's last row,
 * as base64url JSON. A cursor only says where to resume (`WHERE key < last`); never an offset.
 */
import { z } from "zod";
import { AppError } from "./errors.ts";

export type CursorKey = readonly (number | string)[];

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** The key a cursor carries; the shape (how many parts, of which type) is checked. */
export function decodeCursor(cursor: string, shape: readonly ("number" | "string")[]): (number | string)[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    key = undefined;
  }
  if (
    !Array.isArray(key) ||
    key.length !== shape.length ||
    key.some((v, i) => typeof v !== shape[i] || (typeof v === "number" && !Number.isSafeInteger(v)))
  )
    throw new AppError("INVALID_REQUEST", "cursor is not a cursor this API produced", [
      { path: "cursor", code: "INVALID_CURSOR", message: "use nextCursor from the previous page" },
    ]);
  return key as (number | string)[];
}

/** The query parameters every console list takes. */
export const pageQuery = {
  cursor: z.string().max(500).optional().describe("nextCursor from the previous page"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
};

/** Cuts the `limit + 1` rows a query read into a page and the cursor to the next one. */
export function pageOf<R>(
  rows: readonly R[],
  limit: number,
  keyOf: (row: R) => CursorKey,
): { rows: R[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { rows: page, nextCursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}
