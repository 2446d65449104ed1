// A shop's inventory levels, held compactly: per location one Float64Array with a row per
// inventory item (its 7 stored quantities, created and updated times), instead of an object, a
// quantities object, two strings and a key string per level. 500,000 levels took some 110 MB as
// objects (and the emulator's heap grew to several times its live size between collections
// while serving bulk reads); here they take some 36 MB.
//
// Levels are handed out as small views (`LevelRef`) over the arrays: reading and writing
// `level.q.on_hand` or `level.updatedAt` reads and writes the arrays, so every view of one level
// sees the same values. Views are made on demand, so code must not rely on two lookups of one
// level giving the same object (LevelEvents keys by item and location).
import { isoSeconds } from "./clock.ts";
import type { InventoryLevel, StoredQuantityName } from "./state.ts";

const NAMES: readonly StoredQuantityName[] = [
  "on_hand",
  "committed",
  "reserved",
  "damaged",
  "safety_stock",
  "quality_control",
  "incoming",
];
/** Fields per row: the quantities, then created and updated (epoch ms; NaN created: no level). */
const CREATED = NAMES.length;
const UPDATED = CREATED + 1;
const WIDTH = UPDATED + 1;

/** One location's rows. */
interface Column {
  readonly locationId: number;
  data: Float64Array;
}

/** The quantities of one level, read and written in place. */
class QuantitiesRef {
  constructor(
    /** Not readonly: `LevelStore.scan` moves one view along the rows. */
    public column: Column,
    public at: number,
  ) {}
  get on_hand() {
    return this.column.data[this.at]!;
  }
  set on_hand(v: number) {
    this.column.data[this.at] = v;
  }
  get committed() {
    return this.column.data[this.at + 1]!;
  }
  set committed(v: number) {
    this.column.data[this.at + 1] = v;
  }
  get reserved() {
    return this.column.data[this.at + 2]!;
  }
  set reserved(v: number) {
    this.column.data[this.at + 2] = v;
  }
  get damaged() {
    return this.column.data[this.at + 3]!;
  }
  set damaged(v: number) {
    this.column.data[this.at + 3] = v;
  }
  get safety_stock() {
    return this.column.data[this.at + 4]!;
  }
  set safety_stock(v: number) {
    this.column.data[this.at + 4] = v;
  }
  get quality_control() {
    return this.column.data[this.at + 5]!;
  }
  set quality_control(v: number) {
    this.column.data[this.at + 5] = v;
  }
  get incoming() {
    return this.column.data[this.at + 6]!;
  }
  set incoming(v: number) {
    this.column.data[this.at + 6] = v;
  }
}

/** One level as the rest of the emulator sees it (state.ts `InventoryLevel`). */
export class LevelRef implements InventoryLevel {
  readonly q: QuantitiesRef;
  constructor(
    public itemId: number,
    public locationId: number,
    private column: Column,
    private at: number,
  ) {
    this.q = new QuantitiesRef(column, at);
  }

  /** Points this view at another level (`LevelStore.scan` only). */
  moveTo(itemId: number, column: Column, at: number): void {
    this.itemId = itemId;
    this.locationId = column.locationId;
    this.column = column;
    this.at = at;
    this.q.column = column;
    this.q.at = at;
  }
  get createdAt(): string {
    return isoSeconds(this.column.data[this.at + CREATED]!);
  }
  set createdAt(v: string) {
    this.column.data[this.at + CREATED] = Date.parse(v);
  }
  get updatedAt(): string {
    return isoSeconds(this.column.data[this.at + UPDATED]!);
  }
  set updatedAt(v: string) {
    this.column.data[this.at + UPDATED] = Date.parse(v);
  }
}

const key = (itemId: number, locationId: number) => `${itemId}:${locationId}`;

/**
 * The levels of one shop. Also answers the few Map calls the emulator made on its former
 * `Map<"item:location", level>` (get, delete, values, entries), so callers read as before.
 */
export class LevelStore {
  /** Item → row (the same row at every location). */
  private readonly rows = new Map<number, number>();
  private readonly columns = new Map<number, Column>();
  private capacity = 1024;
  /** Levels held. */
  size = 0;

  private column(locationId: number): Column {
    let c = this.columns.get(locationId);
    if (!c) {
      c = { locationId, data: new Float64Array(this.capacity * WIDTH).fill(Number.NaN) };
      this.columns.set(locationId, c);
    }
    return c;
  }

  private row(itemId: number): number {
    let r = this.rows.get(itemId);
    if (r === undefined) {
      r = this.rows.size;
      this.rows.set(itemId, r);
      if (r >= this.capacity) {
        this.capacity *= 2;
        for (const c of this.columns.values()) {
          const grown = new Float64Array(this.capacity * WIDTH).fill(Number.NaN);
          grown.set(c.data);
          c.data = grown;
        }
      }
    }
    return r;
  }

  /** The level of an item at a location, or undefined when the item is not stocked there. */
  level(itemId: number, locationId: number): LevelRef | undefined {
    const r = this.rows.get(itemId);
    const c = this.columns.get(locationId);
    if (r === undefined || !c || Number.isNaN(c.data[r * WIDTH + CREATED]!)) return undefined;
    return new LevelRef(itemId, locationId, c, r * WIDTH);
  }

  /** The level, created with every quantity 0 when it does not exist. */
  ensure(itemId: number, locationId: number, at: string): LevelRef {
    const r = this.row(itemId);
    const c = this.column(locationId);
    const base = r * WIDTH;
    if (Number.isNaN(c.data[base + CREATED]!)) {
      c.data.fill(0, base, base + CREATED);
      const ms = Date.parse(at);
      c.data[base + CREATED] = ms;
      c.data[base + UPDATED] = ms;
      this.size++;
    }
    return new LevelRef(itemId, locationId, c, base);
  }

  /** Removes a level; true when there was one. */
  remove(itemId: number, locationId: number): boolean {
    const r = this.rows.get(itemId);
    const c = this.columns.get(locationId);
    if (r === undefined || !c || Number.isNaN(c.data[r * WIDTH + CREATED]!)) return false;
    c.data.fill(Number.NaN, r * WIDTH, (r + 1) * WIDTH);
    this.size--;
    return true;
  }

  /** The levels at one location, in the order their items were first stocked anywhere. */
  *atLocation(locationId: number): IterableIterator<LevelRef> {
    const c = this.columns.get(locationId);
    if (!c) return;
    for (const [itemId, r] of this.rows)
      if (!Number.isNaN(c.data[r * WIDTH + CREATED]!)) yield new LevelRef(itemId, locationId, c, r * WIDTH);
  }

  /** Every level, item by item (each item's locations together). */
  *values(): IterableIterator<LevelRef> {
    for (const [itemId, r] of this.rows)
      for (const c of this.columns.values())
        if (!Number.isNaN(c.data[r * WIDTH + CREATED]!))
          yield new LevelRef(itemId, c.locationId, c, r * WIDTH);
  }

  /**
   * Every level through one view moved from level to level: a check over the whole store every
   * few seconds (bench:large) made two objects per level each time. The view passed is reused.
   */
  scan(visit: (level: InventoryLevel) => void): void {
    let view: LevelRef | undefined;
    for (const [itemId, r] of this.rows)
      for (const c of this.columns.values()) {
        if (Number.isNaN(c.data[r * WIDTH + CREATED]!)) continue;
        if (view) view.moveTo(itemId, c, r * WIDTH);
        else view = new LevelRef(itemId, c.locationId, c, r * WIDTH);
        visit(view);
      }
  }

  *entries(): IterableIterator<[string, LevelRef]> {
    for (const l of this.values()) yield [key(l.itemId, l.locationId), l];
  }

  [Symbol.iterator](): IterableIterator<[string, LevelRef]> {
    return this.entries();
  }

  /** By `"item:location"`, as the former Map. */
  get(k: string): LevelRef | undefined {
    const [item, location] = k.split(":").map(Number);
    return this.level(item!, location!);
  }

  /** By `"item:location"`, as the former Map. */
  delete(k: string): boolean {
    const [item, location] = k.split(":").map(Number);
    return this.remove(item!, location!);
  }
}
