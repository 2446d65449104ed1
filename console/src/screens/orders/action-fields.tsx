/**
 * The fields of the order action forms (OrderActions.tsx): each bound to one request field, its
 * API error shown under it, so the forms only say which fields they have.
 */
import { api } from "../../api.ts";
import { type useAction, usePoll } from "../../hooks.ts";
import { described, Field } from "../../ui.tsx";

export type ActionError = ReturnType<typeof useAction>["error"];

/** Only the attributes given: an `undefined` one would still be set on the element (maxLength 0). */
const given = (attrs: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== undefined));

export function InputField(props: {
  label: string;
  id: string;
  field: string;
  error: ActionError;
  value: string;
  onInput: (value: string) => void;
  type?: "number";
  min?: number;
  required?: boolean;
  maxLength?: number;
}) {
  return (
    <Field label={props.label} id={props.id} field={props.field} error={props.error}>
      <input
        {...described(props.id, props.error, props.field)}
        {...given({ type: props.type, min: props.min })}
        value={props.value}
        {...given({ required: props.required, maxLength: props.maxLength })}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </Field>
  );
}

export function SelectField(props: {
  label: string;
  id: string;
  field: string;
  error: ActionError;
  value: string;
  onChange: (value: string) => void;
  options: readonly { value: string; label: string }[];
  /** A first, empty choice ("Choose…"). */
  placeholder?: string;
  required?: boolean;
}) {
  return (
    <Field label={props.label} id={props.id} field={props.field} error={props.error}>
      <select
        {...described(props.id, props.error, props.field)}
        value={props.value}
        {...given({ required: props.required })}
        onChange={(e) => props.onChange(e.currentTarget.value)}
      >
        {props.placeholder !== undefined && <option value="">{props.placeholder}</option>}
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </Field>
  );
}

export function CheckField(props: {
  id: string;
  label: string;
  checked: boolean;
  onChange: (v: boolean) => void;
}) {
  return (
    <div class="field inline">
      <input
        id={props.id}
        type="checkbox"
        checked={props.checked}
        onChange={(e) => props.onChange(e.currentTarget.checked)}
      />
      <label for={props.id}>{props.label}</label>
    </div>
  );
}

/** The hub's warehouses as choices ("W1 — Main"), read once a minute. */
export function useWarehouseOptions(): { value: string; label: string }[] {
  const warehouses = usePoll(
    () => api.get<{ items: { code: string; name: string }[] }>("/api/v1/warehouses"),
    [],
    60_000,
  );
  return (warehouses.data?.items ?? []).map((w) => ({ value: w.code, label: `${w.code} — ${w.name}` }));
}
