/** Step 1: connect by the app's install link (shop domain typed in) or by a custom app's token. */
import { useState } from "preact/hooks";
import { FLOW_SCOPES, INSTALL_SCOPES } from "../../../../src/shops/scopes.ts";
import { api } from "../../api.ts";
import { useAction } from "../../hooks.ts";
import { FLOW_LABELS, type FlowName, type StoreView } from "../../types.ts";
import { described, ErrorBox, Field, onSubmit } from "../../ui.tsx";

const normalise = (d: string) => {
  const s = d
    .trim()
    .toLowerCase()
    .replace(/^https?:\/\//, "")
    .replace(/\/.*$/, "");
  return s && !s.includes(".") ? `${s}.myshopify.com` : s;
};

export function ConnectStep(props: { onConnected: (domain: string) => void; existing: StoreView | null }) {
  const [how, setHow] = useState<"token" | "install">("token");
  const [domain, setDomain] = useState("");
  const [token, setToken] = useState("");
  const [secret, setSecret] = useState("");
  const [connected, setConnected] = useState<StoreView | null>(null);
  const connect = useAction(async () => {
    const store = await api.post<StoreView>("/api/v1/stores", {
      domain: normalise(domain),
      accessToken: token.trim(),
      ...(secret.trim() ? { webhookSecret: secret.trim() } : {}),
    });
    const missing = store.flows.some((f) => f.missingScopes.length > 0);
    if (missing) setConnected(store);
    else props.onConnected(store.domain);
  });

  if (connected) {
    const missing = connected.flows.filter((f) => f.missingScopes.length > 0);
    return (
      <>
        <h2 tabIndex={-1}>Connected, with scopes missing</h2>
        <p role="alert" class="warning" id="missing-scopes">
          {connected.domain} is connected, but its token lacks scopes some flows need:
        </p>
        <ul>
          {missing.map((f) => (
            <li key={f.flow}>
              {FLOW_LABELS[f.flow]} needs <code>{f.missingScopes.join(", ")}</code>
            </li>
          ))}
        </ul>
        <p>
          Add them to the custom app in Shopify's admin (Settings → Apps → Develop apps → your app →
          Configuration), install the new version, then paste the token again. Those flows stay off until
          then.
        </p>
        <div class="actions">
          <button type="button" onClick={() => props.onConnected(connected.domain)}>
            Continue without them
          </button>
          <button type="button" class="secondary" onClick={() => setConnected(null)}>
            Paste a new token
          </button>
        </div>
      </>
    );
  }

  return (
    <>
      <h2 tabIndex={-1}>Connect your Shopify store</h2>
      <fieldset class="choice">
        <legend>How do you want to connect?</legend>
        <label class="check">
          <input type="radio" name="how" checked={how === "token"} onChange={() => setHow("token")} /> With a
          custom app's Admin API token (made in the store's admin)
        </label>
        <label class="check">
          <input type="radio" name="how" checked={how === "install"} onChange={() => setHow("install")} /> By
          installing the Tillbridge app (Shopify asks the store owner to approve)
        </label>
      </fieldset>
      <form
        onSubmit={onSubmit(() => {
          if (how === "token") void connect.run();
          else if (domain.trim())
            window.location.assign(`/shopify/install?shop=${encodeURIComponent(normalise(domain))}`);
        })}
      >
        <Field
          label="Shop domain"
          id="shop-domain"
          field="domain"
          error={connect.error}
          hint="For example my-shop.myshopify.com (or just my-shop)."
        >
          <input
            {...described("shop-domain", connect.error, "domain", true)}
            required
            autoComplete="off"
            value={domain}
            onInput={(e) => setDomain(e.currentTarget.value)}
          />
        </Field>
        {how === "token" ? (
          <>
            <div class="scopes" id="required-scopes">
              <p>
                In Shopify's admin: Settings → Apps → Develop apps → Create an app → Configure Admin API
                scopes, and tick exactly these:
              </p>
              <ul class="scope-list">
                {INSTALL_SCOPES.map((s) => (
                  <li key={s}>
                    <code>{s}</code>
                  </li>
                ))}
              </ul>
              <details>
                <summary>Which flow needs which scope</summary>
                <ul>
                  {(Object.keys(FLOW_SCOPES) as FlowName[]).map((f) => (
                    <li key={f}>
                      {FLOW_LABELS[f]}: {FLOW_SCOPES[f].join(", ")}
                    </li>
                  ))}
                </ul>
              </details>
              <p>Install the app, then reveal and copy its Admin API access token (it starts with shpat_).</p>
            </div>
            <Field label="Admin API access token" id="access-token" field="accessToken" error={connect.error}>
              <input
                {...described("access-token", connect.error, "accessToken")}
                type="password"
                required
                autoComplete="off"
                value={token}
                onInput={(e) => setToken(e.currentTarget.value)}
              />
            </Field>
            <Field
              label="API secret key (optional)"
              id="webhook-secret"
              field="webhookSecret"
              error={connect.error}
              hint="Lets the hub verify the store's webhooks (orders, uninstall). Without it, order intake cannot receive orders."
            >
              <input
                {...described("webhook-secret", connect.error, "webhookSecret", true)}
                type="password"
                autoComplete="off"
                value={secret}
                onInput={(e) => setSecret(e.currentTarget.value)}
              />
            </Field>
            <ErrorBox error={connect.error} />
            <button type="submit" disabled={connect.busy}>
              {connect.busy ? "Checking the token…" : "Connect"}
            </button>
          </>
        ) : (
          <>
            <p>
              Shopify will show the store owner the access Tillbridge asks for ({INSTALL_SCOPES.length}{" "}
              scopes: {INSTALL_SCOPES.join(", ")}) and come back here once approved.
            </p>
            <button type="submit">Install on Shopify</button>
          </>
        )}
      </form>
    </>
  );
}
