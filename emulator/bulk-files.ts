// Where bulk operations' result files live (resolvers/bulk.ts writes them): a folder per
// emulator, deleted when it closes (test runs start and stop hundreds of emulators), and any
// left when the process exits.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Store } from "./state.ts";

/** Each emulator's result files, in a folder of its own. */
const resultDirs = new WeakMap<Store, string>();
const liveDirs = new Set<string>();
// A process that ends without closing its emulators still leaves no files behind.
process.once("exit", () => {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

export function resultFile(store: Store, shop: string, id: number): string {
  let dir = resultDirs.get(store);
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), "tillbridge-emulator-bulk-"));
    resultDirs.set(store, dir);
    liveDirs.add(dir);
  }
  return join(dir, `${shop.replace(/[^a-z0-9.-]/gi, "_")}-${id}.jsonl`);
}

/** Deletes an emulator's result files (its `close()`): test runs start and stop hundreds. */
export function dropBulkResults(store: Store): void {
  const dir = resultDirs.get(store);
  if (!dir) return;
  rmSync(dir, { recursive: true, force: true });
  resultDirs.delete(store);
  liveDirs.delete(dir);
}
