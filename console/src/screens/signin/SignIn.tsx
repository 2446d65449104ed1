/** Sign-in, or on a new hub the first (admin) account, which only the hub's own machine may create. */
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api.ts";
import { useAction } from "../../hooks.ts";
import type { Session } from "../../session.tsx";
import { described, ErrorBox, Field, onSubmit } from "../../ui.tsx";

interface Setup {
  readonly needsFirstAccount: boolean;
  readonly canCreateHere: boolean;
}

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [setup, setSetup] = useState<Setup | null>(null);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [mismatch, setMismatch] = useState(false);
  useEffect(() => {
    api
      .get<Setup>("/api/v1/setup")
      .then(setSetup)
      .catch(() => setSetup({ needsFirstAccount: false, canCreateHere: false }));
  }, []);
  const first = setup?.needsFirstAccount === true;
  const submit = useAction(async () => {
    if (first && password !== confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    const s = await api.post<Session>(first ? "/api/v1/setup" : "/api/v1/session", { username, password });
    onSignedIn(s);
  });
  if (!setup) return <p class="muted boot">Loading…</p>;
  return (
    <main id="main" class="signin">
      <h1>{first ? "Create the first account" : "Sign in to Tillbridge"}</h1>
      {first && !setup.canCreateHere ? (
        <p role="alert" class="error">
          This hub has no accounts yet. Create the first one by opening this page on the hub's own machine (
          <code>http://localhost:…</code>) or with <code>tillbridge account create</code>.
        </p>
      ) : (
        <form onSubmit={onSubmit(() => void submit.run())} aria-describedby="signin-about">
          <p id="signin-about" class="muted">
            {first
              ? "This account will be the hub's administrator: it connects stores and creates the other accounts."
              : "Use the account an administrator gave you."}
          </p>
          <Field label="Username" id="username" field="username" error={submit.error}>
            <input
              {...described("username", submit.error, "username")}
              name="username"
              autoComplete="username"
              required
              value={username}
              onInput={(e) => setUsername(e.currentTarget.value)}
            />
          </Field>
          <Field label="Password" id="password" field="password" error={submit.error}>
            <input
              {...described("password", submit.error, "password")}
              type="password"
              name="password"
              autoComplete={first ? "new-password" : "current-password"}
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </Field>
          {first && (
            <Field label="Password again" id="password-confirm">
              <input
                id="password-confirm"
                type="password"
                autoComplete="new-password"
                required
                aria-invalid={mismatch || undefined}
                value={confirm}
                onInput={(e) => setConfirm(e.currentTarget.value)}
              />
            </Field>
          )}
          {mismatch && (
            <p class="error" role="alert">
              The two passwords differ.
            </p>
          )}
          <ErrorBox
            error={submit.error?.details.some((d) => d.path) ? null : submit.error}
            id="signin-error"
          />
          <button type="submit" disabled={submit.busy}>
            {first ? "Create account and sign in" : "Sign in"}
          </button>
        </form>
      )}
    </main>
  );
}
