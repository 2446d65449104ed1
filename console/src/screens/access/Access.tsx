/** Access, for admins: operator accounts (role, disable, new password) and API keys (scopes, revoke). */
import { useState } from "preact/hooks";
import { type ApiError, api } from "../../api.ts";
import { useAction, usePoll } from "../../hooks.ts";
import { useSession } from "../../session.tsx";
import {
  asApiError,
  Badge,
  described,
  ErrorBox,
  Field,
  fmtTime,
  Loading,
  onSubmit,
  Section,
  Table,
} from "../../ui.tsx";

interface Account {
  id: number;
  username: string;
  role: string;
  createdAt: number;
  createdBy: string | null;
  disabledAt: number | null;
  lastSignInAt: number | null;
}

interface ApiKey {
  id: number;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

const ROLE_ABOUT: Record<string, string> = {
  viewer: "sees everything, changes nothing",
  operator: "runs flows, jobs and settings",
  admin: "also connects stores, outbound addresses and access",
};

export function AccessScreen() {
  const { can } = useSession();
  if (!can("admin"))
    return (
      <>
        <h1>Access</h1>
        <p>Only administrators manage accounts and API keys.</p>
      </>
    );
  return (
    <>
      <h1>Access</h1>
      <Accounts />
      <ApiKeys />
    </>
  );
}

function Accounts() {
  const { session } = useSession();
  const list = usePoll(() => api.get<{ items: Account[]; roles: string[] }>("/api/v1/accounts"), [], 15_000);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState("viewer");
  const [rowError, setRowError] = useState<{ id: number; error: ApiError } | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const create = useAction(async () => {
    await api.post("/api/v1/accounts", { username, password, role });
    setCreated(`${username} can now sign in as ${role}.`);
    setUsername("");
    setPassword("");
    await list.reload();
  });
  /** Changes an account; its error is shown in the row, or returned to a form showing it by its field. */
  const change = async (a: Account, body: Record<string, unknown>, inForm = false) => {
    setRowError(null);
    try {
      await api.patch(`/api/v1/accounts/${a.id}`, body);
      await list.reload();
      return null;
    } catch (e) {
      if (!inForm) setRowError({ id: a.id, error: asApiError(e) });
      return asApiError(e);
    }
  };
  const roles = list.data?.roles ?? ["viewer", "operator", "admin"];
  return (
    <Section title="Operator accounts" id="accounts">
      {!list.data ? (
        <Loading what="accounts" />
      ) : (
        <Table
          caption="Operator accounts"
          headers={["Username", "Role", "Status", "Last sign-in", "Created", "Actions"]}
          count={list.data.items.length}
          id="accounts-table"
        >
          {list.data.items.map((a) => (
            <tr key={a.id} data-account={a.username}>
              <th scope="row">{a.username}</th>
              <td>
                <select
                  aria-label={`Role of ${a.username}`}
                  value={a.role}
                  disabled={a.username === session.username}
                  onChange={(e) => void change(a, { role: e.currentTarget.value })}
                >
                  {roles.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
              </td>
              <td>{a.disabledAt ? <Badge value="disabled" /> : <Badge value="active" />}</td>
              <td>{fmtTime(a.lastSignInAt)}</td>
              <td>
                {fmtTime(a.createdAt)} {a.createdBy ? `by ${a.createdBy}` : ""}
              </td>
              <td>
                {a.username !== session.username && (
                  <button
                    type="button"
                    class="secondary"
                    onClick={() => void change(a, { disabled: a.disabledAt === null })}
                  >
                    {a.disabledAt ? "Enable" : "Disable"} {a.username}
                  </button>
                )}
                <NewPassword account={a} onSet={(body) => change(a, body, true)} />
                {rowError?.id === a.id && <ErrorBox error={rowError.error} />}
              </td>
            </tr>
          ))}
        </Table>
      )}
      <form onSubmit={onSubmit(() => void create.run())} aria-labelledby="new-account-title">
        <h3 id="new-account-title">New account</h3>
        <Field label="Username" id="new-username" field="username" error={create.error}>
          <input
            {...described("new-username", create.error, "username")}
            required
            autoComplete="off"
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </Field>
        <Field
          label="Password"
          id="new-password"
          field="password"
          error={create.error}
          hint="Give it to the person; they sign in with it."
        >
          <input
            {...described("new-password", create.error, "password", true)}
            type="password"
            required
            autoComplete="new-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </Field>
        <Field label="Role" id="new-role" field="role" error={create.error}>
          <select id="new-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}: {ROLE_ABOUT[r] ?? ""}
              </option>
            ))}
          </select>
        </Field>
        <ErrorBox error={create.error?.details.some((d) => d.path) ? null : create.error} />
        <div class="actions">
          <button type="submit" disabled={create.busy}>
            Create account
          </button>
          {created && (
            <span class="notice" role="status">
              {created}
            </span>
          )}
        </div>
      </form>
    </Section>
  );
}

function ApiKeys() {
  const list = usePoll(
    () => api.get<{ items: ApiKey[]; scopes: { scope: string; description: string }[] }>("/api/v1/api-keys"),
    [],
    15_000,
  );
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>([]);
  const [shown, setShown] = useState<{ name: string; key: string } | null>(null);
  const create = useAction(async () => {
    const r = await api.post<{ name: string; key: string }>("/api/v1/api-keys", { name, scopes });
    setShown({ name: r.name, key: r.key });
    setName("");
    setScopes([]);
    await list.reload();
  });
  const revoke = useAction(async (id: number) => {
    await api.post(`/api/v1/api-keys/${id}/revoke`);
    await list.reload();
  });
  return (
    <Section title="API keys (for machines: the back office, tills, dashboards)" id="api-keys">
      {!list.data ? (
        <Loading what="API keys" />
      ) : (
        <Table
          caption="API keys"
          headers={["Name", "Starts with", "Scopes", "Last used", "Created", "Action"]}
          count={list.data.items.length}
          empty="No API key."
          id="keys-table"
        >
          {list.data.items.map((k) => (
            <tr key={k.id} data-key={k.name}>
              <th scope="row">{k.name}</th>
              <td class="mono">{k.prefix}…</td>
              <td>{k.scopes.join(", ")}</td>
              <td>{fmtTime(k.lastUsedAt)}</td>
              <td>{fmtTime(k.createdAt)}</td>
              <td>
                {k.revokedAt ? (
                  <Badge value="disabled" label={`revoked ${fmtTime(k.revokedAt)}`} />
                ) : (
                  <button
                    type="button"
                    class="secondary"
                    disabled={revoke.busy}
                    onClick={() => void revoke.run(k.id)}
                  >
                    Revoke {k.name}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
      <ErrorBox error={revoke.error} />
      {shown && (
        <div class="notice" role="status" id="new-key">
          <p>
            The key for <strong>{shown.name}</strong>, shown this once: copy it now.
          </p>
          <code class="key">{shown.key}</code>
        </div>
      )}
      <form onSubmit={onSubmit(() => void create.run())} aria-labelledby="new-key-title">
        <h3 id="new-key-title">New API key</h3>
        <Field
          label="Name"
          id="key-name"
          field="name"
          error={create.error}
          hint="Who uses it, e.g. till-1 or erp."
        >
          <input
            {...described("key-name", create.error, "name", true)}
            required
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </Field>
        <fieldset>
          <legend>Scopes (give the fewest it needs)</legend>
          {list.data?.scopes.map((s) => (
            <label class="check" key={s.scope}>
              <input
                type="checkbox"
                checked={scopes.includes(s.scope)}
                onChange={(e) =>
                  setScopes(
                    e.currentTarget.checked ? [...scopes, s.scope] : scopes.filter((x) => x !== s.scope),
                  )
                }
              />{" "}
              <strong>{s.scope}</strong>: {s.description}
            </label>
          ))}
          {create.error?.forField("scopes") && (
            <p class="field-error" role="alert">
              {create.error.forField("scopes")!.code}: {create.error.forField("scopes")!.message}
            </p>
          )}
        </fieldset>
        <ErrorBox error={create.error?.details.some((d) => d.path) ? null : create.error} />
        <button type="submit" disabled={create.busy}>
          Create key
        </button>
      </form>
    </Section>
  );
}

/**
 * Sets a new password for an account (its sessions end); the admin tells the person. A refused
 * password keeps the form open with the reason and its code under the field.
 */
function NewPassword({
  account,
  onSet,
}: {
  account: Account;
  onSet: (body: { password: string }) => Promise<ApiError | null>;
}) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState(false);
  if (!open)
    return (
      <>
        <button
          type="button"
          class="link"
          onClick={() => {
            setOpen(true);
            setDone(false);
          }}
        >
          New password for {account.username}
        </button>
        {done && (
          <span class="notice" role="status">
            Password set; {account.username}'s sessions ended.
          </span>
        )}
      </>
    );
  const id = `pw-${account.id}`;
  const detail = error ? (error.forField("password") ?? { code: error.code, message: error.message }) : null;
  return (
    <form
      onSubmit={onSubmit(() => {
        void onSet({ password }).then((e) => {
          setError(e);
          if (e) return;
          setPassword("");
          setOpen(false);
          setDone(true);
        });
      })}
    >
      <div class={`field${detail ? " invalid" : ""}`}>
        <label for={id}>New password for {account.username}</label>
        <input
          id={id}
          type="password"
          autoComplete="new-password"
          required
          aria-invalid={detail ? true : undefined}
          aria-describedby={detail ? `${id}-error` : undefined}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        {detail && (
          <small class="field-error" role="alert" id={`${id}-error`}>
            {detail.code}: {detail.message}
          </small>
        )}
      </div>
      <div class="actions">
        <button type="submit">Set password</button>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setOpen(false);
            setError(null);
          }}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}
