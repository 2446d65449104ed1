/** A store's flows: their status, backlog, lag and last success, and the switches. */
import { api, storePath } from "./api.ts";
import type { FlowName, FlowStatusView, StoreView } from "./types.ts";

export async function loadFlows(domain: string): Promise<FlowStatusView[]> {
  const r = await api.get<{ items: FlowStatusView[] }>(storePath(domain, "/flows"));
  return r.items;
}

export type FlowAction = "pause" | "resume" | "enable" | "disable";

export const setFlow = (domain: string, flow: FlowName, action: FlowAction) =>
  api.post<StoreView>(storePath(domain, `/flows/${flow}/${action}`));
