import { describe, expect, it } from "vitest";
import { describeFleet, parseWorkerId } from "./fleet-status.ts";
import { HUB_JOBS_LEASE } from "./leases.ts";

const NOW = 1_000_000;
const stores = [
  { id: 1, domain: "a.myshopify.com", connected: true },
  { id: 2, domain: "b.myshopify.com", connected: true },
  { id: 3, domain: "c.myshopify.com", connected: true },
  { id: 4, domain: "gone.myshopify.com", connected: false },
];

describe("describeFleet", () => {
  it("names each store's owner, counts stores per running process and the fair share", () => {
    const f = describeFleet(
      {
        workers: [
          { id: "web-1:11:aa", startedAt: 10, expiresAt: NOW + 5000 },
          { id: "web-2:22:bb", startedAt: 20, expiresAt: NOW + 5000 },
        ],
        leases: [
          { storeId: 1, owner: "web-1:11:aa", expiresAt: NOW + 4000, generation: 1 },
          { storeId: 2, owner: "web-2:22:bb", expiresAt: NOW + 4000, generation: 3 },
          { storeId: 3, owner: "web-1:11:aa", expiresAt: NOW + 4000, generation: 2 },
          { storeId: HUB_JOBS_LEASE, owner: "web-2:22:bb", expiresAt: NOW + 4000, generation: 1 },
        ],
        stores,
      },
      NOW,
    );
    expect(f.processes.map((p) => [p.host, p.pid, p.state, p.stores, p.hubJobs])).toEqual([
      ["web-1", 11, "running", 2, false],
      ["web-2", 22, "running", 1, true],
    ]);
    expect(f.stores.map((s) => [s.domain, s.state, s.owner, s.generation])).toEqual([
      ["a.myshopify.com", "worked", "web-1:11:aa", 1],
      ["b.myshopify.com", "worked", "web-2:22:bb", 3],
      ["c.myshopify.com", "worked", "web-1:11:aa", 2],
      ["gone.myshopify.com", "disconnected", null, 0],
    ]);
    expect(f.fairShare).toBe(3); // ⌈3 / 2⌉ + 1
    expect(f.hubJobsOwner).toBe("web-2:22:bb");
    expect(f.problems).toEqual([]);
  });

  it("says so when no process runs the workers", () => {
    const f = describeFleet(
      {
        workers: [{ id: "web-1:11:aa", startedAt: 10, expiresAt: NOW - 1 }],
        leases: [{ storeId: 1, owner: "web-1:11:aa", expiresAt: NOW - 1, generation: 1 }],
        stores,
      },
      NOW,
    );
    expect(f.processes[0]!.state).toBe("not_responding");
    expect(f.fairShare).toBeNull();
    expect(f.problems.map((p) => p.code)).toEqual(["NO_WORKER"]);
    expect(f.problems[0]!.message).toContain("3 stores wait");
    expect(f.problems[0]!.stores).toEqual(["a.myshopify.com", "b.myshopify.com", "c.myshopify.com"]);
  });

  it("tells a store held by a process that stopped answering from one nobody works", () => {
    const f = describeFleet(
      {
        workers: [
          { id: "web-1:11:aa", startedAt: 10, expiresAt: NOW - 500 },
          { id: "web-2:22:bb", startedAt: 20, expiresAt: NOW + 5000 },
        ],
        leases: [
          // The dead process's lease has not run out yet; store 2's has.
          { storeId: 1, owner: "web-1:11:aa", expiresAt: NOW + 2000, generation: 4 },
          { storeId: 2, owner: "web-1:11:aa", expiresAt: NOW - 1, generation: 2 },
          { storeId: 3, owner: "web-2:22:bb", expiresAt: NOW + 2000, generation: 1 },
        ],
        stores,
      },
      NOW,
    );
    expect(f.stores.map((s) => [s.domain, s.state, s.owner])).toEqual([
      ["a.myshopify.com", "owner_not_responding", "web-1:11:aa"],
      ["b.myshopify.com", "waiting", null],
      ["c.myshopify.com", "worked", "web-2:22:bb"],
      ["gone.myshopify.com", "disconnected", null],
    ]);
    expect(f.problems.map((p) => [p.code, p.stores])).toEqual([
      ["STORES_WAITING", ["b.myshopify.com"]],
      ["OWNER_NOT_RESPONDING", ["a.myshopify.com"]],
    ]);
    expect(f.problems[0]!.message).toBe(
      "1 store is not worked by any process right now; a running process takes it at its next turn (within a few seconds). If this lasts, check the processes' logs.",
    );
  });

  it("reads host and pid from worker ids, host names with colons included", () => {
    expect(parseWorkerId("box:123:abcd")).toEqual({ host: "box", pid: 123 });
    expect(parseWorkerId("fe80::1:77:ff")).toEqual({ host: "fe80::1", pid: 77 });
    expect(parseWorkerId("odd")).toEqual({ host: "odd", pid: null });
  });
});
