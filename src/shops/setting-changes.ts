/**
 * A setting changed: who changed what, from what to what, kept in the audit trail (recordAudit)
 * and told in the store's activity log (kind `setting_changed`). Callers pass the public views
 * of the setting (never a secret or token; e.g. publicSettings hides the outbound secret).
 */
import { recordAudit } from "../auth/audit.ts";
import { actorLabel, type Principal } from "../auth/principal.ts";
import type { Db } from "../db/database.ts";
import { logActivity } from "./activity.ts";

/** Top-level keys whose values differ (JSON equality). */
export function changedKeys(before: unknown, after: unknown): string[] {
  if (!before || !after || typeof before !== "object" || typeof after !== "object")
    return JSON.stringify(before) === JSON.stringify(after) ? [] : ["value"];
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  return [...new Set([...Object.keys(b), ...Object.keys(a)])].filter(
    (k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]),
  );
}

export interface SettingChange {
  readonly principal: Principal | null;
  readonly storeId: number;
  /** `order_settings.update`, `flow.pause`… */
  readonly action: string;
  /** A person's words for the setting: "order settings", "inventory mode"… */
  readonly label: string;
  /** The flow the setting belongs to (activity log), or `settings`. */
  readonly flow?: string;
  readonly target?: string | null;
  readonly before: unknown;
  readonly after: unknown;
}

export async function recordSettingChange(db: Db, change: SettingChange, now: number): Promise<void> {
  const changed = changedKeys(change.before, change.after);
  await recordAudit(
    db,
    {
      principal: change.principal,
      storeId: change.storeId,
      action: change.action,
      target: change.target ?? null,
      before: change.before,
      after: change.after,
    },
    now,
  );
  await logActivity(
    db,
    {
      storeId: change.storeId,
      flow: change.flow ?? "settings",
      kind: "setting_changed",
      message:
        changed.length === 0
          ? `${change.label} saved by ${actorLabel(change.principal)} (no change)`
          : `${change.label} changed by ${actorLabel(change.principal)}: ${changed.join(", ")}`,
      data: { action: change.action, changed },
    },
    now,
  );
}
