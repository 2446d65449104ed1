/** The store's push lag, backlog and throughput over the last hour or day, drawn with uPlot. */
import { useEffect, useRef, useState } from "preact/hooks";
import type uPlot from "uplot";
import { api, storePath } from "../api.ts";
import { usePoll } from "../hooks.ts";
import { ErrorBox, fmtTime, Table } from "../ui.tsx";

interface Series {
  readonly range: "hour" | "day";
  readonly stepSeconds: number;
  readonly points: readonly {
    at: number;
    lagSeconds: number | null;
    backlog: number;
    pushed: number;
    ordersImported: number;
  }[];
}

const SPAN_SECONDS = { hour: 3600, day: 86_400 } as const;

export function LagChart({ domain }: { domain: string }) {
  const [range, setRange] = useState<"hour" | "day">("hour");
  const series = usePoll(
    () => api.get<Series>(storePath(domain, `/series?range=${range}`)),
    [domain, range],
    15_000,
  );
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const span = useRef<[number, number]>([0, 1]);

  // uPlot (≈50 KB) is loaded with the first chart, not with the console.
  const [UPlot, setUPlot] = useState<typeof uPlot | null>(null);
  useEffect(() => {
    void Promise.all([import("uplot"), import("uplot/dist/uPlot.min.css")]).then(([m]) =>
      setUPlot(() => m.default),
    );
  }, []);

  useEffect(() => {
    const el = box.current;
    if (!el || !series.data || !UPlot) return;
    const p = series.data.points;
    const data: uPlot.AlignedData = [
      p.map((x) => x.at / 1000),
      p.map((x) => x.lagSeconds),
      p.map((x) => x.backlog),
      p.map((x) => x.pushed),
    ];
    const width = Math.max(300, el.clientWidth);
    // The time axis always spans the period chosen, ending at the latest sample (uPlot would
    // otherwise stretch one or two samples over years).
    const end = (p.at(-1)?.at ?? Date.now()) / 1000;
    span.current = [end - SPAN_SECONDS[range], end];
    if (plot.current) {
      plot.current.setData(data);
      return;
    }
    plot.current = new UPlot(
      {
        width,
        height: 220,
        scales: { x: { time: true, range: () => span.current } },
        series: [
          {},
          { label: "Lag (s)", stroke: "#a1221c", width: 2, scale: "s" },
          { label: "Backlog (items)", stroke: "#1f5fbf", width: 2, scale: "n" },
          { label: "Pushed (quantities)", stroke: "#1e6b3a", width: 1, scale: "n" },
        ],
        axes: [
          {},
          { scale: "s", label: "seconds" },
          { scale: "n", side: 1, label: "items", grid: { show: false } },
        ],
      },
      data,
      el,
    );
    const resize = () => plot.current?.setSize({ width: Math.max(300, el.clientWidth), height: 220 });
    window.addEventListener("resize", resize);
    return () => window.removeEventListener("resize", resize);
  }, [series.data, UPlot, range]);

  useEffect(
    () => () => {
      plot.current?.destroy();
      plot.current = null;
    },
    [],
  );

  const pts = series.data?.points ?? [];
  const last = pts.at(-1);
  const maxBacklog = pts.reduce((m, x) => Math.max(m, x.backlog), 0);
  return (
    <figure class="chart-figure" aria-labelledby="lag-chart-caption">
      <div class="toolbar">
        <div class="field inline">
          <label for="chart-range">Period</label>
          <select
            id="chart-range"
            value={range}
            onChange={(e) => setRange(e.currentTarget.value as "hour" | "day")}
          >
            <option value="hour">Last hour</option>
            <option value="day">Last day</option>
          </select>
        </div>
      </div>
      <ErrorBox error={series.error} />
      <div
        ref={box}
        class="chart"
        id="lag-chart"
        role="img"
        aria-label="Chart of lag, backlog and quantities pushed"
      />
      <figcaption id="lag-chart-caption">
        {pts.length === 0
          ? "No samples yet: the hub records one every 30 seconds."
          : `${pts.length} ${pts.length === 1 ? "sample" : "samples"}; now: lag ${last?.lagSeconds ?? 0} s, backlog ${last?.backlog ?? 0}; highest backlog ${maxBacklog}.`}
      </figcaption>
      {/* The numbers the chart is drawn from, for those who cannot see the canvas (and for checks). */}
      <details class="chart-data">
        <summary>The numbers behind the chart</summary>
        <Table
          id="lag-chart-data"
          caption="Samples: lag, backlog and quantities pushed per step"
          headers={["Step ending", "Lag (s)", "Backlog (items)", "Pushed (quantities)", "Orders imported"]}
          count={pts.length}
          empty="No samples yet."
        >
          {pts.map((x) => (
            <tr key={x.at} data-at={x.at}>
              <td>{fmtTime(x.at)}</td>
              <td class="num">{x.lagSeconds ?? "—"}</td>
              <td class="num">{x.backlog}</td>
              <td class="num">{x.pushed}</td>
              <td class="num">{x.ordersImported}</td>
            </tr>
          ))}
        </Table>
      </details>
    </figure>
  );
}
