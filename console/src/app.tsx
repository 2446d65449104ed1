/** The console's shell: who is signed in, the navigation, and which screen the address shows. */
import type { JSX } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, setCsrfToken, whenSignedOut } from "./api.ts";
import { href, match, useRoute } from "./router.ts";
import { AccessScreen } from "./screens/access/Access.tsx";
import { AuditScreen } from "./screens/audit/Audit.tsx";
import { CatalogScreen } from "./screens/catalog/Catalog.tsx";
import { CustomersScreen } from "./screens/customers/Customers.tsx";
import { FailuresScreen } from "./screens/failures/Failures.tsx";
import { CatalogImportScreen } from "./screens/import/CatalogImport.tsx";
import { OrderPage } from "./screens/orders/OrderPage.tsx";
import { OrdersScreen } from "./screens/orders/Orders.tsx";
import { ProcessesScreen } from "./screens/processes/Processes.tsx";
import { PublishScreen } from "./screens/publish/Publish.tsx";
import { ShipmentsScreen } from "./screens/shipments/Shipments.tsx";
import { SignIn } from "./screens/signin/SignIn.tsx";
import { StockScreen } from "./screens/stock/Stock.tsx";
import { StorePage } from "./screens/store/StorePage.tsx";
import { StoresOverview } from "./screens/stores/Overview.tsx";
import { Wizard } from "./screens/wizard/Wizard.tsx";
import { permits, type Session, type SessionContext, SessionCtx, useSession } from "./session.tsx";

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);

  useEffect(() => {
    whenSignedOut(() => {
      setCsrfToken(null);
      setSession(null);
    });
    api
      .get<Session>("/api/v1/session")
      .then((s) => {
        setCsrfToken(s.csrfToken);
        setSession(s);
      })
      .catch(() => setSession(null));
  }, []);

  const ctx = useMemo<SessionContext | null>(
    () =>
      session
        ? {
            session,
            can: (p) => permits(session, p),
            signOut: async () => {
              await api.del("/api/v1/session").catch(() => undefined);
              setCsrfToken(null);
              setSession(null);
            },
          }
        : null,
    [session],
  );

  if (session === undefined) return <p class="muted boot">Loading the console…</p>;
  if (!ctx)
    return (
      <SignIn
        onSignedIn={(s) => {
          setCsrfToken(s.csrfToken);
          setSession(s);
        }}
      />
    );
  return (
    <SessionCtx.Provider value={ctx}>
      <Shell />
    </SessionCtx.Provider>
  );
}

interface NavItem {
  readonly path: string;
  readonly label: string;
  readonly admin?: boolean;
}

function Shell() {
  const path = useRoute();
  const { session, can, signOut } = useSession();
  const nav: NavItem[] = [
    { path: "/stores", label: "Stores" },
    { path: "/orders", label: "Orders" },
    { path: "/shipments", label: "Shipments" },
    { path: "/catalog", label: "Catalog" },
    { path: "/import", label: "Import" },
    { path: "/publish", label: "Publish" },
    { path: "/customers", label: "Customers" },
    { path: "/stock", label: "Stock" },
    { path: "/failures", label: "Failures" },
    { path: "/audit", label: "Audit trail" },
    { path: "/processes", label: "Processes" },
    { path: "/access", label: "Access", admin: true },
  ];
  const first = path.split(/[/?]/)[1] ?? "";
  const section = first === "connect" || first === "" ? "/stores" : `/${first}`;

  // Move focus to the new screen's heading so keyboard and screen-reader users follow along.
  useEffect(() => {
    const h = document.querySelector<HTMLElement>("main h1");
    if (h) {
      h.tabIndex = -1;
      h.focus({ preventScroll: true });
    }
  }, [path]);

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href("/stores")}>
          Tillbridge
        </a>
        <nav aria-label="Main">
          <ul>
            {nav
              .filter((n) => !n.admin || can("admin"))
              .map((n) => (
                <li key={n.path}>
                  <a href={href(n.path)} aria-current={section === n.path ? "page" : undefined}>
                    {n.label}
                  </a>
                </li>
              ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {session.username ?? session.name}{" "}
            <span class="badge muted">{session.role ?? session.scopes.join(", ")}</span>
          </span>
          <button type="button" class="secondary" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">{screen(path)}</main>
    </>
  );
}

const ROUTES: readonly [string, (p: Record<string, string>) => JSX.Element][] = [
  ["/", () => <StoresOverview />],
  ["/stores", () => <StoresOverview />],
  ["/connect", () => <Wizard domain={null} />],
  ["/stores/:domain/setup", (p) => <Wizard domain={p.domain!} />],
  ["/stores/:domain", (p) => <StorePage domain={p.domain!} />],
  ["/orders", () => <OrdersScreen />],
  ["/orders/:id", (p) => <OrderPage id={p.id!} />],
  ["/shipments", () => <ShipmentsScreen />],
  ["/catalog", () => <CatalogScreen />],
  ["/import", () => <CatalogImportScreen />],
  ["/publish", () => <PublishScreen />],
  ["/customers", () => <CustomersScreen />],
  ["/stock", () => <StockScreen />],
  ["/failures", () => <FailuresScreen />],
  ["/audit", () => <AuditScreen />],
  ["/processes", () => <ProcessesScreen />],
  ["/access", () => <AccessScreen />],
];

function screen(path: string) {
  for (const [pattern, render] of ROUTES) {
    const m = match(pattern, path);
    if (m) return render(m);
  }
  return (
    <>
      <h1>Not found</h1>
      <p>
        There is no screen at {path}. <a href={href("/stores")}>Go to the stores</a>.
      </p>
    </>
  );
}
