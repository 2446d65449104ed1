/**
 * The onboarding steps, and which one a store is at, derived from its state (so a step left
 * half-way is resumed where it stands, from any browser).
 */
import { api, storePath } from "../../api.ts";
import type { Job, LocationView, StoreView } from "../../types.ts";

export const STEPS = [
  { id: "connect", label: "Connect" },
  { id: "locations", label: "Locations" },
  { id: "link", label: "Linking" },
  { id: "dry-run", label: "Dry run" },
  { id: "mode", label: "Mode" },
  { id: "flows", label: "Flows" },
  { id: "personal-data", label: "Personal data" },
  { id: "done", label: "Done" },
] as const;

export type StepId = (typeof STEPS)[number]["id"];

export interface StoreState {
  readonly store: StoreView;
  readonly locations: LocationView[];
  readonly jobs: Job[];
}

export async function loadStoreState(domain: string): Promise<StoreState> {
  const [store, locations, jobs] = await Promise.all([
    api.get<StoreView>(storePath(domain)),
    api.get<{ items: LocationView[] }>(storePath(domain, "/locations")),
    api.get<{ items: Job[] }>(storePath(domain, "/jobs")),
  ]);
  return { store, locations: locations.items, jobs: jobs.items };
}

const didJob = (s: StoreState, kind: Job["kind"]) =>
  s.jobs.some((j) => j.kind === kind && j.status === "done");

/** The first step the store has not completed. */
export function setupStep(s: StoreState): StepId {
  if (s.store.status !== "active") return "connect";
  if (!s.locations.some((l) => l.managed && l.warehouses.length > 0)) return "locations";
  if (!didJob(s, "link")) return "link";
  if (!didJob(s, "dry_run")) return "dry-run";
  if (s.store.flows.every((f) => f.state === "disabled")) return "mode";
  return "done";
}
