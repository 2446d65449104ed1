/** Every flow of a store: status (with the reason), backlog, lag, last success, and its switch. */
import { useState } from "preact/hooks";
import type { ApiError } from "../api.ts";
import { type FlowAction, setFlow } from "../flows.ts";
import { useSession } from "../session.tsx";
import { FLOW_LABELS, type FlowName, type FlowStatusView } from "../types.ts";
import { asApiError, Badge, ErrorBox, fmtAgo, fmtDuration, Table } from "../ui.tsx";

const ACTIONS: Record<FlowStatusView["state"], { action: FlowAction; label: string }> = {
  enabled: { action: "pause", label: "Pause" },
  paused: { action: "resume", label: "Resume" },
  disabled: { action: "enable", label: "Enable" },
};

export function FlowsTable(props: {
  domain: string;
  flows: readonly FlowStatusView[];
  onChanged: () => void;
  caption?: string;
}) {
  const { can } = useSession();
  const [busy, setBusy] = useState<FlowName | null>(null);
  const [error, setError] = useState<{ flow: FlowName; error: ApiError } | null>(null);
  const operate = can("store.operate");
  const act = async (flow: FlowName, action: FlowAction) => {
    setBusy(flow);
    setError(null);
    try {
      await setFlow(props.domain, flow, action);
      props.onChanged();
    } catch (e) {
      setError({ flow, error: asApiError(e) });
    } finally {
      setBusy(null);
    }
  };
  return (
    <Table
      caption={props.caption ?? `Flows of ${props.domain}`}
      headers={[
        "Flow",
        "Status",
        "Backlog",
        "Lag",
        "Last success",
        operate ? "Pause, resume or enable" : "Pause, resume or enable (not for your role)",
      ]}
      count={props.flows.length}
    >
      {props.flows.map((f) => {
        const a = ACTIONS[f.state];
        const label = `${a.label} ${FLOW_LABELS[f.flow]}`;
        return (
          <tr key={f.flow} data-flow={f.flow}>
            <th scope="row">{FLOW_LABELS[f.flow]}</th>
            <td>
              <Badge value={f.status} />
              {f.reason && f.status !== "paused" && <div class="reason">{f.reason}</div>}
            </td>
            <td class="num">{f.backlog}</td>
            <td class="num">{fmtDuration(f.lagSeconds)}</td>
            <td>{fmtAgo(f.lastSuccessAt)}</td>
            <td>
              {operate ? (
                <button
                  type="button"
                  class={a.action === "pause" ? "secondary" : ""}
                  aria-label={label}
                  disabled={busy !== null || f.status === "disconnected"}
                  onClick={() => void act(f.flow, a.action)}
                >
                  {a.label}
                </button>
              ) : (
                <span class="muted">—</span>
              )}
              {error?.flow === f.flow && <ErrorBox error={error.error} />}
            </td>
          </tr>
        );
      })}
    </Table>
  );
}
