/**
 * The processes sharing this hub's database and the stores each works (GET /api/v1/processes):
 * who holds which store's lease, until when, how often a store changed hands, and what is wrong
 * (no worker at all, stores nobody works, an owner that stopped answering).
 */
import { api } from "../../api.ts";
import { usePoll } from "../../hooks.ts";
import { href } from "../../router.ts";
import { Badge, ErrorBox, fmtAgo, fmtDuration, fmtTime, Loading, Section, Table } from "../../ui.tsx";

interface FleetProcess {
  id: string;
  host: string;
  pid: number | null;
  state: "running" | "not_responding";
  startedAt: number;
  aliveUntil: number;
  stores: number;
  hubJobs: boolean;
}

interface FleetStore {
  domain: string;
  state: "worked" | "owner_not_responding" | "waiting" | "disconnected";
  owner: string | null;
  leaseExpiresAt: number | null;
  generation: number;
}

export interface Fleet {
  now: number;
  leaseTtlMs: number;
  answeredBy: string | null;
  fairShare: number | null;
  hubJobsOwner: string | null;
  processes: FleetProcess[];
  stores: FleetStore[];
  problems: { code: string; message: string; stores: string[] }[];
}

const PROCESS_STATE = { running: "running", not_responding: "stopped answering" } as const;
const STORE_STATE = {
  worked: "worked",
  owner_not_responding: "owner stopped answering",
  waiting: "waiting for a process",
  disconnected: "disconnected",
} as const;

/** "host, pid 123" for a worker id, or the id itself when it is not one of ours. */
function processName(fleet: Fleet, id: string | null): string {
  if (!id) return "—";
  const p = fleet.processes.find((x) => x.id === id);
  return p ? `${p.host}, pid ${p.pid ?? "?"}` : id;
}

export function ProcessesScreen() {
  const fleet = usePoll(() => api.get<Fleet>("/api/v1/processes"), [], 3000);
  const f = fleet.data;
  return (
    <>
      <h1>Processes</h1>
      <p class="muted">
        Every store is worked by one process at a time: that process holds the store's lease and renews it
        every few seconds. If it stops, another process takes its stores over once the lease runs out
        {f ? ` (within ${fmtDuration(f.leaseTtlMs / 1000)})` : ""}; a process that shuts down cleanly hands
        them over at once. Processes sharing this database must use the same ENCRYPTION_KEY and PUBLIC_URL.
      </p>
      <ErrorBox error={fleet.error} />
      {!f ? (
        <Loading what="the processes" />
      ) : (
        <>
          {f.problems.length > 0 && (
            <div class="warning" role="alert" id="fleet-problems">
              <ul>
                {f.problems.map((p) => (
                  <li key={p.code} data-problem={p.code}>
                    {p.message}
                    {p.stores.length > 0 && p.stores.length <= 10 && (
                      <>
                        {" "}
                        (
                        {p.stores.map((d, i) => (
                          <span key={d}>
                            {i > 0 && ", "}
                            <a href={href(`/stores/${encodeURIComponent(d)}`)}>{d}</a>
                          </span>
                        ))}
                        )
                      </>
                    )}
                  </li>
                ))}
              </ul>
            </div>
          )}
          <Section title="Processes" id="processes">
            <Table
              caption="Hub processes running workers on this database"
              headers={["Process", "State", "Started", "Stores worked", "Hub-wide jobs"]}
              count={f.processes.length}
              empty="No process runs the workers on this database."
            >
              {f.processes.map((p) => (
                <tr key={p.id} data-process={p.pid ?? p.id} data-state={p.state}>
                  <td>
                    {p.host}, pid {p.pid ?? "?"}
                    {p.id === f.answeredBy && (
                      <>
                        {" "}
                        <Badge value="active" label="answered this page" />
                      </>
                    )}
                  </td>
                  <td>
                    <Badge value={p.state} label={PROCESS_STATE[p.state]} />
                    {p.state === "not_responding" && (
                      <small class="muted"> last heard of {fmtAgo(p.aliveUntil - f.leaseTtlMs)}</small>
                    )}
                  </td>
                  <td>{fmtTime(p.startedAt)}</td>
                  <td>
                    {p.stores}
                    {f.fairShare !== null && p.state === "running" && (
                      <small class="muted"> (at most {f.fairShare} while all run)</small>
                    )}
                  </td>
                  <td>{p.hubJobs ? "yes" : "—"}</td>
                </tr>
              ))}
            </Table>
          </Section>
          <Section title="Stores" id="store-owners">
            <Table
              caption="Which process works each store"
              headers={["Store", "State", "Worked by", "Lease renewed until", "Changed hands"]}
              count={f.stores.length}
              empty="No store is connected yet."
            >
              {f.stores.map((s) => (
                <tr key={s.domain} data-store={s.domain} data-state={s.state}>
                  <td>
                    <a href={href(`/stores/${encodeURIComponent(s.domain)}`)}>{s.domain}</a>
                  </td>
                  <td>
                    <Badge value={s.state} label={STORE_STATE[s.state]} />
                  </td>
                  <td>{processName(f, s.owner)}</td>
                  <td>{s.leaseExpiresAt === null ? "—" : fmtTime(s.leaseExpiresAt)}</td>
                  <td>
                    {s.generation <= 1 ? "never" : s.generation === 2 ? "once" : `${s.generation - 1} times`}
                  </td>
                </tr>
              ))}
            </Table>
          </Section>
        </>
      )}
    </>
  );
}
