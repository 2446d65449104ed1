/**
 * What the back office can do to an order by API, from the order page: ready for pickup, picked
 * up, substitute or cancel a line, move to another store, hold and release, cancel the order,
 * record what came back of a return. Each form sends one request with its own request id (a
 * second click resends the same id: the hub answers the first action again). Destructive ones ask
 * to confirm first. The API's errors show under their field, with their code. Only shown to
 * whoever may write orders (the viewer sees none of it).
 */
import type { ComponentChildren } from "preact";
import { useMemo, useState } from "preact/hooks";
import { api } from "../../api.ts";
import { useAction } from "../../hooks.ts";
import { ErrorBox, onSubmit } from "../../ui.tsx";
import {
  type ActionError,
  CheckField,
  InputField,
  SelectField,
  useWarehouseOptions,
} from "./action-fields.tsx";

export interface ActionLine {
  shopifyLineId: string;
  sku: string | null;
  title: string | null;
  currentQuantity: number;
  /** Units still to ship or collect (what the page counts as not shipped). */
  open: number;
}

export interface ReturnForReceipt {
  id: string;
  name: string | null;
  status: string;
  lines: { returnLineId: string; quantity: number; received: number; reason: string | null }[];
}

const CANCEL_REASONS = ["CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"] as const;
const HOLD_REASONS = [
  "AWAITING_PAYMENT",
  "HIGH_RISK_OF_FRAUD",
  "INCORRECT_ADDRESS",
  "INVENTORY_OUT_OF_STOCK",
  "UNKNOWN_DELIVERY_DATE",
  "OTHER",
] as const;
const words = (s: string) => s.toLowerCase().replace(/_/g, " ");
const reasonOptions = (reasons: readonly string[]) => reasons.map((r) => ({ value: r, label: words(r) }));
const newRequestId = (kind: string) => `console-${kind}-${crypto.randomUUID()}`;
const lineLabel = (l: ActionLine) => `${l.sku ?? "no SKU"} — ${l.title ?? ""} (${l.open} not shipped)`;

type Kind = "ready" | "collected" | "substitute" | "cancel-lines" | "move" | "hold" | "release" | "cancel";

/**
 * One action's form: its fields, then (for destructive ones) a confirmation step naming what will
 * happen, then the request. `send` gets the form's request id.
 */
function ActionForm(props: {
  kind: Kind;
  title: string;
  submitLabel: string;
  /** Set for destructive actions: the sentence the operator confirms. */
  confirm?: string;
  send: (requestId: string) => Promise<unknown>;
  onDone: (message: string) => void;
  onClose: () => void;
  children?: (error: ReturnType<typeof useAction>["error"]) => ComponentChildren;
  /** Error paths shown under a field of this form (the rest go to the box). */
  fields?: (path: string) => boolean;
}) {
  const requestId = useMemo(() => newRequestId(props.kind), [props.kind]);
  const [confirming, setConfirming] = useState(false);
  const run = useAction(async () => {
    const r = (await props.send(requestId)) as { action?: { id: number; status: string } };
    props.onDone(
      r?.action
        ? `${props.title}: sent to Shopify as action ${r.action.id} (${r.action.status}).`
        : `${props.title}: done.`,
    );
  });
  const submit = () => {
    if (props.confirm && !confirming) return setConfirming(true);
    setConfirming(false);
    void run.run();
  };
  const titleId = `action-${props.kind}-title`;
  return (
    <form class="panel" id={`action-${props.kind}`} onSubmit={onSubmit(submit)} aria-labelledby={titleId}>
      <h3 id={titleId}>{props.title}</h3>
      {props.children?.(run.error)}
      <ErrorBox error={run.error} placed={props.fields} />
      {confirming && props.confirm ? (
        <div class="actions" role="alertdialog" aria-labelledby={`${titleId}-confirm`}>
          <p id={`${titleId}-confirm`}>
            <strong>{props.confirm}</strong>
          </p>
          <button type="submit" class="danger" disabled={run.busy}>
            Yes, {props.submitLabel.toLowerCase()}
          </button>
          <button type="button" class="secondary" onClick={() => setConfirming(false)}>
            No, go back
          </button>
        </div>
      ) : (
        <div class="actions">
          <button type="submit" class={props.confirm ? "danger" : undefined} disabled={run.busy}>
            {props.confirm ? `${props.submitLabel}…` : props.submitLabel}
          </button>
          <button type="button" class="secondary" onClick={props.onClose}>
            Close
          </button>
        </div>
      )}
    </form>
  );
}

/** The line and how many of its units, under the request's field names for them. */
function LineUnits(props: {
  what: string;
  lines: readonly ActionLine[];
  lineId: string;
  onLine: (v: string) => void;
  quantity: string;
  onQuantity: (v: string) => void;
  error: ActionError;
  fields: { line: string; quantity: string };
}) {
  return (
    <>
      <SelectField
        label="Line"
        id={`${props.what}-line`}
        field={props.fields.line}
        error={props.error}
        value={props.lineId}
        onChange={props.onLine}
        options={props.lines.map((l) => ({ value: l.shopifyLineId, label: lineLabel(l) }))}
      />
      <InputField
        label="Units"
        id={`${props.what}-quantity`}
        field={props.fields.quantity}
        error={props.error}
        type="number"
        min={1}
        value={props.quantity}
        onInput={props.onQuantity}
      />
    </>
  );
}

/** The order's action buttons and the open form. */
export function OrderActions(props: {
  id: string;
  name: string;
  cancelled: boolean;
  pickup: boolean;
  /** Shopify was told the pickup is ready (the customer was notified already). */
  ready: boolean;
  held: boolean;
  lines: readonly ActionLine[];
  onChanged: () => void;
}) {
  const [open, setOpen] = useState<Kind | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const base = `/api/v1/orders/${props.id}`;
  const warehouses = useWarehouseOptions();
  const unshipped = props.lines.filter((l) => l.open > 0);
  const firstLine = unshipped[0]?.shopifyLineId ?? "";
  const [lineId, setLineId] = useState(firstLine);
  const [quantity, setQuantity] = useState("1");
  const [sku, setSku] = useState("");
  const [reason, setReason] = useState("");
  const [notify, setNotify] = useState(false);
  const [warehouse, setWarehouse] = useState("");
  const [holdReason, setHoldReason] = useState<string>("OTHER");
  const [cancelReason, setCancelReason] = useState<string>("CUSTOMER");
  const [refund, setRefund] = useState(true);
  const [restock, setRestock] = useState(true);
  const [staffNote, setStaffNote] = useState("");
  const show = (k: Kind) => {
    setDone(null);
    setLineId(firstLine);
    setQuantity("1");
    setReason("");
    setOpen(k);
  };
  const finished = (message: string) => {
    setOpen(null);
    setDone(message);
    props.onChanged();
  };
  const close = () => setOpen(null);
  const qty = () => Number(quantity);
  const button = (k: Kind, label: string, when = true) =>
    when && (
      <button
        type="button"
        class="secondary"
        id={`open-${k}`}
        aria-expanded={open === k}
        onClick={() => (open === k ? close() : show(k))}
      >
        {label}
      </button>
    );
  const live = !props.cancelled;
  const lineFields = (
    error: ActionError,
    what: string,
    fields = { line: "lineId", quantity: "quantity" },
  ) => (
    <LineUnits
      what={what}
      lines={unshipped}
      lineId={lineId}
      onLine={setLineId}
      quantity={quantity}
      onQuantity={setQuantity}
      error={error}
      fields={fields}
    />
  );
  const reasonField = (error: ActionError, id: string, label: string) => (
    <InputField
      label={label}
      id={id}
      field="reason"
      error={error}
      value={reason}
      required
      maxLength={500}
      onInput={setReason}
    />
  );
  const notifyField = (id: string) => (
    <CheckField id={id} label="Tell the customer" checked={notify} onChange={setNotify} />
  );
  return (
    <div id="order-action-buttons">
      <div class="actions">
        {button("ready", "Ready for pickup", live && props.pickup && !props.ready && unshipped.length > 0)}
        {button("collected", "Picked up…", live && props.pickup && unshipped.length > 0)}
        {button("substitute", "Substitute a line…", live && unshipped.length > 0)}
        {button("cancel-lines", "Cancel units of a line…", live && unshipped.length > 0)}
        {button("move", "Ship from another store…", live && unshipped.length > 0)}
        {button("hold", "Place on hold…", live && !props.held && unshipped.length > 0)}
        {button("release", "Release the hold", live && props.held)}
        {button("cancel", "Cancel the order…", live && unshipped.length > 0)}
      </div>
      {!live && <p class="muted">The order is cancelled: nothing more can be asked of Shopify.</p>}
      {live && unshipped.length === 0 && !props.held && (
        <p class="muted">Everything was shipped or collected: returns are received below.</p>
      )}
      {done && (
        <p class="ok" role="status" id="order-action-done">
          {done}
        </p>
      )}
      {open === "ready" && (
        <ActionForm
          kind="ready"
          title="Ready for pickup"
          submitLabel="Tell Shopify it is ready"
          send={(requestId) => api.post(`${base}/pickup/ready`, { requestId })}
          onDone={finished}
          onClose={close}
        >
          {() => <p>Shopify marks the pickup as prepared and tells the customer to come.</p>}
        </ActionForm>
      )}
      {open === "collected" && (
        <ActionForm
          kind="collected"
          title="Picked up"
          submitLabel="Record the pickup"
          confirm={`The customer took everything still waiting for order ${props.name}: the units leave the pickup store's stock and Shopify gets the fulfillment.`}
          send={(requestId) => api.post(`${base}/pickup/collected`, { id: requestId })}
          onDone={finished}
          onClose={close}
        >
          {() => (
            <p>
              Everything not yet shipped or collected is handed over: {unshipped.map(lineLabel).join("; ")}.
            </p>
          )}
        </ActionForm>
      )}
      {open === "substitute" && (
        <ActionForm
          kind="substitute"
          title="Substitute a line"
          submitLabel="Substitute"
          confirm={`Order ${props.name} is edited in Shopify: the line goes down and ${sku || "the other SKU"} is added.`}
          fields={(p) => ["lineId", "quantity", "sku", "reason"].includes(p)}
          send={(requestId) =>
            api.post(`${base}/substitute`, {
              requestId,
              lineId,
              quantity: qty(),
              sku: sku.trim(),
              reason: reason.trim(),
              notifyCustomer: notify,
            })
          }
          onDone={finished}
          onClose={close}
        >
          {(error) => (
            <>
              {lineFields(error, "substitute")}
              <InputField
                label="Instead: SKU"
                id="substitute-sku"
                field="sku"
                error={error}
                value={sku}
                required
                onInput={setSku}
              />
              {reasonField(error, "substitute-reason", "Why (the edit's staff note)")}
              {notifyField("substitute-notify")}
            </>
          )}
        </ActionForm>
      )}
      {open === "cancel-lines" && (
        <ActionForm
          kind="cancel-lines"
          title="Cancel units of a line"
          submitLabel="Cancel the units"
          confirm={`The units are refunded and removed from order ${props.name} in Shopify. This cannot be undone.`}
          fields={(p) => ["lines[0].lineId", "lines[0].quantity", "reason"].includes(p)}
          send={(requestId) =>
            api.post(`${base}/cancel-lines`, {
              requestId,
              reason: reason.trim(),
              notifyCustomer: notify,
              lines: [{ lineId, quantity: qty() }],
            })
          }
          onDone={finished}
          onClose={close}
        >
          {(error) => (
            <>
              {lineFields(error, "cancel-lines", { line: "lines[0].lineId", quantity: "lines[0].quantity" })}
              {reasonField(error, "cancel-lines-reason", "Why (shown on the refund)")}
              {notifyField("cancel-lines-notify")}
            </>
          )}
        </ActionForm>
      )}
      {open === "move" && (
        <ActionForm
          kind="move"
          title="Ship from another store"
          submitLabel="Move the order"
          fields={(p) => p === "warehouse"}
          send={(requestId) => api.post(`${base}/move`, { requestId, warehouse })}
          onDone={finished}
          onClose={close}
        >
          {(error) => (
            <>
              <p>
                Shopify moves the open fulfillment orders to the store mapped to the warehouse; the
                reservation follows.
              </p>
              <SelectField
                label="To warehouse"
                id="move-warehouse"
                field="warehouse"
                error={error}
                value={warehouse}
                required
                onChange={setWarehouse}
                placeholder="Choose…"
                options={warehouses}
              />
            </>
          )}
        </ActionForm>
      )}
      {open === "hold" && (
        <ActionForm
          kind="hold"
          title="Place on hold"
          submitLabel="Hold the order"
          fields={(p) => p === "reason" || p === "note"}
          send={(requestId) =>
            api.post(`${base}/hold`, {
              requestId,
              reason: holdReason,
              ...(staffNote.trim() ? { note: staffNote.trim() } : {}),
            })
          }
          onDone={finished}
          onClose={close}
        >
          {(error) => (
            <>
              <p>Nothing of this order is shipped until the hold is released.</p>
              <SelectField
                label="Reason"
                id="hold-reason"
                field="reason"
                error={error}
                value={holdReason}
                onChange={setHoldReason}
                options={reasonOptions(HOLD_REASONS)}
              />
              <InputField
                label="Note (optional)"
                id="hold-note"
                field="note"
                error={error}
                value={staffNote}
                maxLength={255}
                onInput={setStaffNote}
              />
            </>
          )}
        </ActionForm>
      )}
      {open === "release" && (
        <ActionForm
          kind="release"
          title="Release the hold"
          submitLabel="Release"
          send={(requestId) => api.post(`${base}/release-hold`, { requestId })}
          onDone={finished}
          onClose={close}
        >
          {() => <p>Shopify opens the fulfillment orders again; shipments waiting for the release go on.</p>}
        </ActionForm>
      )}
      {open === "cancel" && (
        <ActionForm
          kind="cancel"
          title="Cancel the order"
          submitLabel="Cancel the order"
          confirm={`Order ${props.name} is cancelled in Shopify${refund ? " and refunded" : ""}${restock ? ", its units restocked" : ""}. This cannot be undone.`}
          fields={(p) => p === "reason" || p === "staffNote"}
          send={(requestId) =>
            api.post(`${base}/cancel`, {
              requestId,
              reason: cancelReason,
              refund,
              restock,
              notifyCustomer: notify,
              ...(staffNote.trim() ? { staffNote: staffNote.trim() } : {}),
            })
          }
          onDone={finished}
          onClose={close}
        >
          {(error) => (
            <>
              <SelectField
                label="Reason"
                id="cancel-reason"
                field="reason"
                error={error}
                value={cancelReason}
                onChange={setCancelReason}
                options={reasonOptions(CANCEL_REASONS)}
              />
              <CheckField
                id="cancel-refund"
                label="Refund the customer"
                checked={refund}
                onChange={setRefund}
              />
              <CheckField
                id="cancel-restock"
                label="Restock the units"
                checked={restock}
                onChange={setRestock}
              />
              {notifyField("cancel-notify")}
              <InputField
                label="Staff note (optional)"
                id="cancel-note"
                field="staffNote"
                error={error}
                value={staffNote}
                onInput={setStaffNote}
              />
            </>
          )}
        </ActionForm>
      )}
    </div>
  );
}

/** What came back of a return, per line: restocked to a warehouse, damaged or missing. */
export function ReturnReceiptForm(props: {
  ret: ReturnForReceipt;
  onDone: (message: string) => void;
  onClose: () => void;
}) {
  const r = props.ret;
  const requestId = useMemo(() => newRequestId("receipt"), []);
  const warehouses = useWarehouseOptions();
  type Counts = { restock: string; damaged: string; missing: string; warehouse: string };
  const [counts, setCounts] = useState<Record<string, Counts>>(() =>
    Object.fromEntries(
      r.lines.map((l) => [
        l.returnLineId,
        { restock: String(Math.max(0, l.quantity - l.received)), damaged: "0", missing: "0", warehouse: "" },
      ]),
    ),
  );
  const set = (line: string, k: keyof Counts, v: string) =>
    setCounts((c) => ({ ...c, [line]: { ...c[line]!, [k]: v } }));
  // The entries sent, in order: an error's path lines[i] names the field it came from.
  const entries = r.lines.flatMap((l) => {
    const c = counts[l.returnLineId]!;
    return (["restock", "damaged", "missing"] as const)
      .filter((k) => Number(c[k]) > 0)
      .map((k) => ({
        returnLineId: l.returnLineId,
        condition: k,
        quantity: Number(c[k]),
        ...(k === "restock" && c.warehouse ? { warehouse: c.warehouse } : {}),
      }));
  });
  const indexOf = (line: string, k: string) =>
    entries.findIndex((e) => e.returnLineId === line && e.condition === k);
  const run = useAction(async () => {
    await api.post(`/api/v1/returns/${encodeURIComponent(r.id)}/receipts`, { id: requestId, lines: entries });
    props.onDone(`What came back of return ${r.name ?? r.id} is recorded; Shopify is told.`);
  });
  const titleId = `receipt-${r.id.split("/").pop()}-title`;
  const placed = (p: string) => /^lines\[\d+\]\.(quantity|warehouse)$/.test(p);
  return (
    <form
      class="panel"
      id="return-receipt"
      onSubmit={onSubmit(() => void run.run())}
      aria-labelledby={titleId}
    >
      <h3 id={titleId}>What came back of return {r.name ?? r.id}</h3>
      {r.lines.map((l, li) => {
        const c = counts[l.returnLineId]!;
        const fid = (k: string) => `receipt-${li}-${k}`;
        const path = (k: string, f: string) => `lines[${indexOf(l.returnLineId, k)}].${f}`;
        return (
          <fieldset key={l.returnLineId}>
            <legend>
              Line {li + 1}: {l.quantity} returned ({words(l.reason ?? "unknown")}), {l.received} received
              before
            </legend>
            {(["restock", "damaged", "missing"] as const).map((k) => (
              <InputField
                key={k}
                label={k === "restock" ? "Back on sale" : k === "damaged" ? "Damaged (disposed)" : "Missing"}
                id={fid(k)}
                field={path(k, "quantity")}
                error={run.error}
                type="number"
                min={0}
                value={c[k]}
                onInput={(v) => set(l.returnLineId, k, v)}
              />
            ))}
            <SelectField
              label="Restocked at warehouse"
              id={fid("warehouse")}
              field={path("restock", "warehouse")}
              error={run.error}
              value={c.warehouse}
              onChange={(v) => set(l.returnLineId, "warehouse", v)}
              placeholder="Choose…"
              options={warehouses}
            />
          </fieldset>
        );
      })}
      <ErrorBox error={run.error} placed={placed} />
      <div class="actions">
        <button type="submit" disabled={run.busy || entries.length === 0}>
          Record and tell Shopify
        </button>
        <button type="button" class="secondary" onClick={props.onClose}>
          Close
        </button>
      </div>
    </form>
  );
}
