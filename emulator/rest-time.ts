// Shopify's REST bodies (webhook payloads) write times in the shop's time zone with its offset,
// e.g. "2026-11-28T06:03:36-05:00" (REST Order: created_at "2008-01-10T11:00:00-05:00"); the
// GraphQL Admin API answers UTC. The emulator keeps UTC internally and converts REST bodies here.
// Whole seconds, as Shopify writes them (the emulator's clock keeps none either, so a REST and a
// GraphQL time of one change are the same instant).

/** Shops are created in this zone unless another is given (Shopify's sample shops are in Eastern time). */
export const DEFAULT_SHOP_TIMEZONE = "America/New_York";

const formats = new Map<string, Intl.DateTimeFormat>();

/**
 * Offsets by zone and quarter hour: every offset change in the time zone database falls on a
 * quarter hour, and asking Intl for each REST body's times was a twentieth of the emulator's CPU
 * in bench:fleet (thousands of webhooks a second).
 */
const QUARTER_HOUR_MS = 15 * 60_000;
const offsets = new Map<string, number>();

/** The zone's offset from UTC at `ms`, in minutes (−300 for New York in winter). */
export function offsetMinutes(timeZone: string, ms: number): number {
  const key = `${timeZone} ${Math.floor(ms / QUARTER_HOUR_MS)}`;
  const known = offsets.get(key);
  if (known !== undefined) return known;
  const off = zoneOffsetMinutes(timeZone, ms);
  if (offsets.size > 10_000) offsets.clear();
  offsets.set(key, off);
  return off;
}

function zoneOffsetMinutes(timeZone: string, ms: number): number {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" });
    formats.set(timeZone, f);
  }
  const name = f.formatToParts(new Date(ms)).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!m) return 0;
  return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** "2026-11-28T11:03:36.000Z" → "2026-11-28T06:03:36-05:00" in New York. */
export function inShopOffset(iso: string, timeZone: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const off = offsetMinutes(timeZone, ms);
  const clock = new Date(Math.floor(ms / 1000) * 1000 + off * 60_000).toISOString().slice(0, 19);
  const a = Math.abs(off);
  return `${clock}${off < 0 ? "-" : "+"}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

const UTC_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** A JSON.stringify replacer writing every `*_at` UTC time of a REST body in the shop's offset. */
export function restTimes(timeZone: string): (key: string, value: unknown) => unknown {
  return (key, value) =>
    typeof value === "string" && key.endsWith("_at") && UTC_ISO.test(value)
      ? inShopOffset(value, timeZone)
      : value;
}
