/**
 * Keeping a long import's heap near its live data.
 *
 * A heap snapshot of a 20,000-variant import (bench/catalog-import.ts, `--heapsnapshot-signal`)
 * holds about 30 MB of live objects, yet the V8 heap "in use" reached 235 MB while a
 * 100,000-variant import applied its products: the import allocates fast (JSON lines, products,
 * 1,000-row statements) and what survives a scavenge across a batch's awaits is promoted, so
 * garbage piles up in the old generation until V8's next full collection, whose threshold V8 set
 * from the planning step's peak (the whole store's SKUs and barcodes) and only grows lazily. RSS
 * follows the heap, and is rarely given back. The import therefore asks for a full collection
 * when the heap in use has grown `headroom` bytes past what it was at the last one: after the
 * planning step (its whole-store tables are garbage then) and between batches.
 *
 * The collection is V8's own (`gc`, reached through `--expose-gc` set at run time in a separate
 * context, so nothing global changes); where that is refused the import runs as before.
 */
import v8 from "node:v8";
import vm from "node:vm";

let gc: (() => void) | null | undefined;

function fullCollection(): boolean {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      gc = vm.runInNewContext("gc") as () => void;
    } catch {
      gc = null;
    }
  }
  if (!gc) return false;
  gc();
  return true;
}

const used = () => v8.getHeapStatistics().used_heap_size;

/** Collects when the heap in use grew `headroom` bytes past the last collection (or the start). */
export class HeapGuard {
  private base = used();
  /** Full collections asked for (the bench prints them). */
  collections = 0;
  constructor(private readonly headroom = 32 * 2 ** 20) {}

  /** Call at a quiet point (between batches): cheap when under the headroom. */
  check(): void {
    if (used() - this.base < this.headroom) return;
    this.collect();
  }

  /** Collects now (a step whose big tables just became garbage). */
  collect(): void {
    if (fullCollection()) this.collections++;
    this.base = used();
  }
}
