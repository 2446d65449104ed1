/** Small shared pieces: fields with their error, error boxes, status badges, tables, formatting. */
import type { ComponentChildren, JSX } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.ts";

/**
 * An API error as the operator sees it: its code and message (role=alert so it is announced),
 * with the details no field shows (`placed` says which paths a field of the form shows).
 */
export function ErrorBox({
  error,
  id,
  placed,
}: {
  error: ApiError | null | undefined;
  id?: string;
  placed?: (path: string) => boolean;
}) {
  if (!error) return null;
  const fieldless = error.details.filter((d) => !d.path || (placed !== undefined && !placed(d.path)));
  return (
    <div class="error" role="alert" id={id}>
      <strong>{error.code}</strong>: {error.message}
      {fieldless.length > 0 && (
        <ul>
          {fieldless.map((d) => (
            <li key={`${d.path}${d.code}${d.message}`}>
              {d.path ? `${d.path}: ` : ""}
              {d.code}: {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A labelled control; the API's error about this field (details[].path) is shown under it. */
export function Field(props: {
  label: string;
  id: string;
  field?: string;
  error?: ApiError | null;
  hint?: ComponentChildren;
  children: ComponentChildren;
}) {
  const detail = props.error && props.field ? props.error.forField(props.field) : undefined;
  return (
    <div class={`field${detail ? " invalid" : ""}`}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && (
        <small class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </small>
      )}
      {detail && (
        <small class="field-error" role="alert" id={`${props.id}-error`}>
          {detail.code}: {detail.message}
        </small>
      )}
    </div>
  );
}

/** aria attributes tying a control to its hint and error (see Field). */
export function described(id: string, error?: ApiError | null, field?: string, hint = false) {
  const bad = !!(error && field && error.forField(field));
  const ids = [hint ? `${id}-hint` : "", bad ? `${id}-error` : ""].filter(Boolean).join(" ");
  return { id, "aria-invalid": bad || undefined, "aria-describedby": ids || undefined };
}

const TONES: Record<string, string> = {
  running: "ok",
  worked: "ok",
  not_responding: "bad",
  owner_not_responding: "bad",
  enabled: "ok",
  active: "ok",
  done: "ok",
  delivered: "ok",
  applied: "ok",
  partially_applied: "warn",
  problem: "bad",
  unlinked: "warn",
  rejected: "bad",
  imported: "ok",
  skipped: "muted",
  linked: "ok",
  fulfilled: "ok",
  success: "ok",
  paused: "warn",
  queued: "warn",
  pending: "warn",
  waiting: "warn",
  partial: "warn",
  disabled: "muted",
  cancelled: "muted",
  failing: "bad",
  failed: "bad",
  dead: "bad",
  disconnected: "bad",
  parked: "bad",
  error: "bad",
};

/** A labelled select filtering a list (store, status, kind…); `any` adds a first "all" choice. */
export function SelectField(props: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: readonly (string | { value: string; label: string })[];
  any?: string;
}) {
  return (
    <div class="field inline">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.any !== undefined && <option value="">{props.any}</option>}
        {props.options.map((o) => {
          const { value, label } = typeof o === "string" ? { value: o, label: o } : o;
          return (
            <option key={value} value={value}>
              {label}
            </option>
          );
        })}
      </select>
    </div>
  );
}

export function Badge({ value, label }: { value: string; label?: string }) {
  return <span class={`badge ${TONES[value] ?? "muted"}`}>{label ?? value.replace(/_/g, " ")}</span>;
}

export function Section(props: {
  title: string;
  id?: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  const hid = props.id ? `${props.id}-title` : undefined;
  return (
    <section class="panel" id={props.id} aria-labelledby={hid}>
      <div class="panel-head">
        <h2 id={hid}>{props.title}</h2>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

/** A table with a caption (for screen readers), column headers and an empty-state row. */
export function Table(props: {
  caption: string;
  headers: readonly string[];
  empty?: string;
  children: ComponentChildren;
  count: number;
  id?: string;
  captionVisible?: boolean;
}) {
  // A table wider than the screen scrolls sideways: it is then focusable, so the keyboard can scroll it.
  const wrap = useRef<HTMLDivElement>(null);
  const [scrolls, setScrolls] = useState(false);
  useLayoutEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const check = () => setScrolls(el.scrollWidth > el.clientWidth + 1);
    check();
    const ro = new ResizeObserver(check);
    ro.observe(el);
    return () => ro.disconnect();
  });
  return (
    <div
      class="table-wrap"
      ref={wrap}
      {...(scrolls
        ? { tabIndex: 0, role: "region", "aria-label": `${props.caption} (scrolls sideways)` }
        : {})}
    >
      <table id={props.id}>
        <caption class={props.captionVisible ? "" : "sr-only"}>{props.caption}</caption>
        <thead>
          <tr>
            {props.headers.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.children}
          {props.count === 0 && (
            <tr class="empty">
              <td colSpan={props.headers.length}>{props.empty ?? "Nothing here."}</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

const toDate = (t: number | string) => new Date(typeof t === "number" ? t : Date.parse(t));

export function fmtTime(t: number | string | null | undefined): string {
  if (t === null || t === undefined || t === "") return "—";
  const d = toDate(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString();
}

export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

export function fmtAgo(t: number | string | null | undefined): string {
  if (t === null || t === undefined) return "never";
  const s = (Date.now() - toDate(t).getTime()) / 1000;
  return s < 5 ? "just now" : `${fmtDuration(s)} ago`;
}

/** A "Load more" button for cursor pages. */
export function More({ next, onMore, busy }: { next: unknown; onMore: () => void; busy?: boolean }) {
  if (next === null || next === undefined) return null;
  return (
    <button type="button" class="secondary" onClick={onMore} disabled={busy}>
      Load more
    </button>
  );
}

/** A form's submit handler that does not reload the page. */
export const onSubmit =
  (fn: () => void) =>
  (e: JSX.TargetedEvent<HTMLFormElement>): void => {
    e.preventDefault();
    fn();
  };

export const asApiError = (e: unknown) =>
  e instanceof ApiError ? e : new ApiError(0, "CLIENT_ERROR", e instanceof Error ? e.message : String(e));
