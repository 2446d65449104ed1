// The compact level store (levels.ts): views over typed arrays that behave as the level objects
// they replaced, and level events that count a level once however many views touched it.
import { describe, expect, it } from "vitest";
import { LevelEvents } from "./level-events.ts";
import { LevelStore } from "./levels.ts";
import type { Shop, Store } from "./state.ts";

const AT = "2026-11-28T10:00:00Z";
const LATER = "2026-11-28T11:30:00Z";

describe("the compact level store", () => {
  it("keeps every level's quantities and times, seen alike through every view", () => {
    const levels = new LevelStore();
    // More items than the first allocation holds, at three locations, so the columns grow.
    for (let item = 1; item <= 3000; item++)
      for (const location of [7, 8, 9]) levels.ensure(item, location, AT).q.on_hand = item + location;
    expect(levels.size).toBe(9000);
    const a = levels.level(2999, 8)!;
    const b = levels.level(2999, 8)!;
    expect(a.q.on_hand).toBe(2999 + 8);
    a.q.committed = 4;
    a.q.on_hand += 10;
    a.updatedAt = LATER;
    expect([b.q.on_hand, b.q.committed, b.updatedAt, b.createdAt]).toEqual([2999 + 8 + 10, 4, LATER, AT]);
    // ensure() of an existing level keeps its values.
    expect(levels.ensure(2999, 8, LATER).q.on_hand).toBe(3017);
    expect(levels.level(1, 10)).toBeUndefined();
    expect(levels.get("1:7")?.q.on_hand).toBe(8);
  });

  it("lists a location's levels and every level, and forgets removed ones", () => {
    const levels = new LevelStore();
    for (let item = 1; item <= 5; item++) levels.ensure(item, 1, AT);
    levels.ensure(3, 2, AT);
    expect([...levels.atLocation(1)].map((l) => l.itemId)).toEqual([1, 2, 3, 4, 5]);
    expect([...levels.atLocation(2)].map((l) => l.itemId)).toEqual([3]);
    expect([...levels.values()].map((l) => `${l.itemId}:${l.locationId}`)).toEqual([
      "1:1",
      "2:1",
      "3:1",
      "3:2",
      "4:1",
      "5:1",
    ]);
    // scan() visits the same levels through one reused view.
    const scanned: string[] = [];
    levels.scan((l) => scanned.push(`${l.itemId}:${l.locationId}:${l.q.on_hand}`));
    expect(scanned).toEqual(["1:1:0", "2:1:0", "3:1:0", "3:2:0", "4:1:0", "5:1:0"]);
    // Removing while iterating, as deleting a variant does through the Map-like API.
    for (const [k, l] of levels) if (l.itemId === 3) levels.delete(k);
    expect(levels.size).toBe(4);
    expect(levels.level(3, 1)).toBeUndefined();
    expect([...levels.atLocation(2)]).toEqual([]);
    expect(levels.ensure(3, 1, LATER).q.on_hand).toBe(0);
  });

  it("sends one inventory_levels/update per level changed, whichever views changed it", () => {
    const levels = new LevelStore();
    levels.ensure(1, 1, AT).q.on_hand = 5;
    levels.ensure(2, 1, AT).q.on_hand = 5;
    const sent: unknown[] = [];
    const store = { emit: (_s: Shop, topic: string, payload: unknown) => sent.push([topic, payload]) };
    const events = new LevelEvents(store as unknown as Store, {} as Shop);
    // Two lines of one order at one level: two lookups, two views, one level.
    events.touch(levels.level(1, 1)!).q.committed += 1;
    events.touch(levels.level(1, 1)!).q.committed += 1;
    events.touch(levels.level(2, 1)!); // touched, not changed
    events.flush();
    expect(sent).toEqual([
      [
        "inventory_levels/update",
        expect.objectContaining({ inventory_item_id: 1, location_id: 1, available: 3 }),
      ],
    ]);
  });
});
