/**
 * Validation of a batch of back-office movements, as a pure function of the batch and what the
 * store already knows (SKUs, warehouses, movement ids seen before). Every bad item is reported
 * in one answer, by index, so a back office can fix a batch in one round trip.
 */
import { hash } from "node:crypto";
import { z } from "zod";
import type { ErrorDetail } from "../core/errors.ts";
import { controlCharacterProblem, key, normalizeKey, quantity, trimmedKey } from "../core/input.ts";
import type { MovementType } from "../db/tables.ts";
import type { Entry } from "./ledger.ts";

export const MAX_MOVEMENTS_PER_BATCH = 1000;
/** Tills' clocks drift; a movement dated further ahead than this is a mistake, not drift. */
export const MAX_FUTURE_SKEW_MS = 60 * 60 * 1000;
/** Nothing the hub records happened before this (2000-01-01T00:00:00Z): an earlier date is a typo. */
export const EARLIEST_OCCURRED_AT = Date.UTC(2000, 0, 1);

export const MOVEMENT_TYPES = ["receipt", "sale", "return", "adjustment", "transfer", "count"] as const;

export const movementInput = z
  .object({
    id: key(200).describe("The back office's own id for this movement: the idempotency key."),
    type: z.enum(MOVEMENT_TYPES),
    sku: trimmedKey(255),
    warehouse: key(100).describe("Warehouse code; for a transfer, where stock leaves."),
    toWarehouse: key(100).optional().describe("Transfers only: where stock arrives."),
    quantity: quantity().describe(
      "Signed change of on hand: receipt and return > 0, sale < 0, adjustment ≠ 0, transfer > 0 (units moved). For a count: the counted quantity (≥ 0).",
    ),
    occurredAt: z.iso
      .datetime({ offset: true })
      .describe("When it happened (ISO 8601 with offset); may be in the past."),
  })
  .strict();

export type MovementInput = z.infer<typeof movementInput>;

export const movementBatchInput = z.object({
  movements: z.array(movementInput).min(1).max(MAX_MOVEMENTS_PER_BATCH),
});

export interface Lookup {
  readonly variantIdBySku: ReadonlyMap<string, number>;
  readonly warehouseIdByCode: ReadonlyMap<string, number>;
  /** content hash of movements already recorded, by external id */
  readonly recordedHashById: ReadonlyMap<string, string>;
}

export interface PlannedMovement {
  readonly index: number;
  readonly externalId: string;
  readonly type: MovementType;
  readonly variantId: number;
  readonly warehouseId: number;
  readonly toWarehouseId: number | null;
  readonly quantity: number;
  readonly occurredAt: number;
  readonly contentHash: string;
}

export type BatchPlan =
  | {
      readonly ok: true;
      readonly apply: readonly PlannedMovement[];
      readonly duplicates: readonly DuplicateItem[];
    }
  | { readonly ok: false; readonly errors: readonly ErrorDetail[] };

export interface DuplicateItem {
  readonly index: number;
  readonly id: string;
}

export function contentHash(m: MovementInput): string {
  const canonical = [
    m.type,
    m.sku,
    m.warehouse,
    m.toWarehouse ?? "",
    m.quantity,
    Date.parse(m.occurredAt),
  ].join("\u0000");
  // One-shot: a thousand movements a batch, each hashed without a Hash object.
  return hash("sha256", canonical, "base64url");
}

/** Only values that can be keys are looked up (PostgreSQL refuses NUL in a query parameter). */
function usable(v: unknown): v is string {
  return typeof v === "string" && v.length <= 255 && controlCharacterProblem(v, false) === undefined;
}

/** Shallow reads of the raw items so the store can look up SKUs and codes before full validation. */
export function referencedKeys(items: readonly unknown[]): {
  skus: string[];
  warehouses: string[];
  ids: string[];
} {
  const skus = new Set<string>();
  const warehouses = new Set<string>();
  const ids = new Set<string>();
  for (const item of items) {
    if (typeof item !== "object" || item === null) continue;
    const r = item as Record<string, unknown>;
    if (usable(r.sku)) skus.add(normalizeKey(r.sku.trim())); // as `trimmedKey` reads it
    if (usable(r.warehouse)) warehouses.add(normalizeKey(r.warehouse));
    if (usable(r.toWarehouse)) warehouses.add(normalizeKey(r.toWarehouse));
    if (usable(r.id)) ids.add(normalizeKey(r.id));
  }
  return { skus: [...skus], warehouses: [...warehouses], ids: [...ids] };
}

function signProblem(type: MovementType, quantity: number): string | undefined {
  switch (type) {
    case "receipt":
    case "return":
      return quantity > 0
        ? undefined
        : `a ${type} adds stock: quantity must be greater than 0, got ${quantity}`;
    case "sale":
      return quantity < 0 ? undefined : `a sale removes stock: quantity must be negative, got ${quantity}`;
    case "adjustment":
      return quantity !== 0 ? undefined : "an adjustment of 0 changes nothing: quantity must not be 0";
    case "transfer":
      return quantity > 0
        ? undefined
        : `a transfer moves units: quantity must be greater than 0, got ${quantity}`;
    case "count":
      return quantity >= 0
        ? undefined
        : `a count is the quantity found: it cannot be negative, got ${quantity}`;
  }
}

function zodProblems(index: number, raw: unknown, id: string | undefined, error: z.ZodError): ErrorDetail[] {
  const record = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {};
  return error.issues.map((issue) => {
    const field = issue.path.join(".");
    const input = record[field];
    let code = "INVALID_FIELD";
    let message = issue.message;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      code = "NOT_AN_OBJECT";
      message = "each movement must be a JSON object";
    } else if (issue.code === "invalid_type" && input === undefined && field !== "") {
      code = field === "id" ? "MISSING_ID" : "MISSING_FIELD";
      message = `${field} is required`;
    } else if (field === "occurredAt") {
      code = "MALFORMED_DATE";
      message =
        `occurredAt must be an ISO 8601 date-time with an offset, e.g. 2026-11-23T09:30:00Z; got ${JSON.stringify(input ?? "")}`.slice(
          0,
          300,
        );
    } else if (field === "quantity") {
      code = "INVALID_QUANTITY";
      message =
        typeof input === "number" && Number.isInteger(input)
          ? "quantity must be between -1000000000 and 1000000000"
          : "quantity must be a whole number";
    } else if (issue.code === "custom") {
      code = "CONTROL_CHARACTER";
      message = `${field} ${issue.message}`;
    } else if (issue.code === "unrecognized_keys") {
      code = "UNKNOWN_FIELD";
    }
    return {
      index,
      ...(id === undefined ? {} : { id }),
      path: `movements[${index}]${field ? `.${field}` : ""}`,
      code,
      message,
    };
  });
}

/**
 * One problem of a movement. A plain function, not a closure per movement: a batch holds a
 * thousand, and under tsx each closure created also has its name set.
 */
function problem(index: number, id: string, code: string, message: string, field?: string): ErrorDetail {
  return { index, id, path: `movements[${index}]${field ? `.${field}` : ""}`, code, message };
}

export function planBatch(items: readonly unknown[], lookup: Lookup, now: number): BatchPlan {
  const errors: ErrorDetail[] = [];
  const apply: PlannedMovement[] = [];
  const duplicates: DuplicateItem[] = [];
  const firstIndexById = new Map<string, number>();

  items.forEach((raw, index) => {
    const rawId = typeof raw === "object" && raw !== null ? (raw as { id?: unknown }).id : undefined;
    const id = typeof rawId === "string" && rawId !== "" ? rawId : undefined;
    const parsed = movementInput.safeParse(raw);
    if (!parsed.success) {
      errors.push(...zodProblems(index, raw, id, parsed.error));
      return;
    }
    const m = parsed.data;
    const problems: ErrorDetail[] = [];
    const earlier = firstIndexById.get(m.id);
    if (earlier !== undefined) {
      problems.push(
        problem(
          index,
          m.id,
          "DUPLICATE_ID_IN_BATCH",
          `movement id ${m.id} appears twice in this batch (items ${earlier} and ${index})`,
          "id",
        ),
      );
    } else {
      firstIndexById.set(m.id, index);
    }
    const variantId = lookup.variantIdBySku.get(m.sku);
    if (variantId === undefined)
      problems.push(
        problem(
          index,
          m.id,
          "UNKNOWN_SKU",
          `unknown SKU ${m.sku}: create it with PUT /api/v1/variants first`,
          "sku",
        ),
      );
    const warehouseId = lookup.warehouseIdByCode.get(m.warehouse);
    if (warehouseId === undefined)
      problems.push(
        problem(index, m.id, "UNKNOWN_WAREHOUSE", `unknown warehouse ${m.warehouse}`, "warehouse"),
      );
    let toWarehouseId: number | null = null;
    if (m.type === "transfer") {
      if (m.toWarehouse === undefined) {
        problems.push(problem(index, m.id, "MISSING_FIELD", "a transfer needs toWarehouse", "toWarehouse"));
      } else if (m.toWarehouse === m.warehouse) {
        problems.push(
          problem(
            index,
            m.id,
            "SAME_WAREHOUSE_TRANSFER",
            `a transfer must go to another warehouse; both are ${m.warehouse}`,
            "toWarehouse",
          ),
        );
      } else {
        toWarehouseId = lookup.warehouseIdByCode.get(m.toWarehouse) ?? null;
        if (toWarehouseId === null)
          problems.push(
            problem(index, m.id, "UNKNOWN_WAREHOUSE", `unknown warehouse ${m.toWarehouse}`, "toWarehouse"),
          );
      }
    } else if (m.toWarehouse !== undefined) {
      problems.push(
        problem(
          index,
          m.id,
          "UNEXPECTED_FIELD",
          `toWarehouse is only for transfers, not for a ${m.type}`,
          "toWarehouse",
        ),
      );
    }
    const sign = signProblem(m.type, m.quantity);
    if (sign)
      problems.push(
        problem(index, m.id, m.quantity === 0 ? "ZERO_QUANTITY" : "INVALID_QUANTITY", sign, "quantity"),
      );
    const occurredAt = Date.parse(m.occurredAt);
    if (occurredAt < EARLIEST_OCCURRED_AT) {
      problems.push(
        problem(
          index,
          m.id,
          "IMPLAUSIBLE_DATE",
          `occurredAt ${m.occurredAt} is before the year 2000; check the till's clock`,
          "occurredAt",
        ),
      );
    } else if (occurredAt > now + MAX_FUTURE_SKEW_MS) {
      problems.push(
        problem(
          index,
          m.id,
          "FUTURE_DATE",
          `occurredAt ${m.occurredAt} is more than an hour in the future`,
          "occurredAt",
        ),
      );
    }
    const hash = contentHash(m);
    const recorded = lookup.recordedHashById.get(m.id);
    if (recorded !== undefined && recorded !== hash) {
      problems.push(
        problem(
          index,
          m.id,
          "ID_REUSED",
          `movement id ${m.id} was already recorded with different content; a new movement needs a new id`,
          "id",
        ),
      );
    }
    if (problems.length > 0) {
      errors.push(...problems);
      return;
    }
    if (recorded !== undefined) {
      duplicates.push({ index, id: m.id });
      return;
    }
    apply.push({
      index,
      externalId: m.id,
      type: m.type,
      variantId: variantId!,
      warehouseId: warehouseId!,
      toWarehouseId,
      quantity: m.quantity,
      occurredAt,
      contentHash: hash,
    });
  });

  return errors.length > 0 ? { ok: false, errors } : { ok: true, apply, duplicates };
}

/** The ledger effect of one movement: one entry per warehouse it touches. */
export function entriesOf(m: PlannedMovement, seq: number): { warehouseId: number; entry: Entry }[] {
  switch (m.type) {
    case "count":
      return [
        {
          warehouseId: m.warehouseId,
          entry: { kind: "count", quantity: m.quantity, occurredAt: m.occurredAt, seq },
        },
      ];
    case "transfer":
      return [
        {
          warehouseId: m.warehouseId,
          entry: { kind: "delta", quantity: -m.quantity, occurredAt: m.occurredAt, seq },
        },
        {
          warehouseId: m.toWarehouseId!,
          entry: { kind: "delta", quantity: m.quantity, occurredAt: m.occurredAt, seq },
        },
      ];
    default:
      return [
        {
          warehouseId: m.warehouseId,
          entry: { kind: "delta", quantity: m.quantity, occurredAt: m.occurredAt, seq },
        },
      ];
  }
}
