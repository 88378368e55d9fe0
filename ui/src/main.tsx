// The dashboard: sign in with a token, then the pages, all over gRPC-web to the gateway that
// serves this file.
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import "./style.css";
import { makeClients, makeTransport, may, roleName } from "./api";
import { forgetToken, SessionContext, storedToken, storeToken, type Session } from "./session";
import { errorText } from "./live";
import { Link, navigate, usePath } from "./router";
import { Overview } from "./pages/overview";
import { ReleasePage, ReleasesPage } from "./pages/release";
import { IncidentPage, IncidentsPage } from "./pages/incidents";
import { HealthPage } from "./pages/health";
import { BackupsPage } from "./pages/backups";
import { AuditPage } from "./pages/audit";
import { WindowPage, WindowsPage } from "./pages/windows";

async function signIn(token: string): Promise<Omit<Session, "signOut">> {
  const api = makeClients(makeTransport({ baseUrl: location.origin, token }));
  const principal = await api.gateway.getPrincipal({}, { timeoutMs: 10000 });
  return { api, principal };
}

function App() {
  const [session, setSession] = useState<Omit<Session, "signOut"> | null>(null);
  const [checking, setChecking] = useState(storedToken() !== null);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    signIn(token).then(setSession, (e) => {
      forgetToken();
      setError(errorText(e));
    }).finally(() => setChecking(false));
  }, []);
  const signOut = () => {
    forgetToken();
    setSession(null);
  };
  if (checking) return <p class="muted center">Signing in…</p>;
  if (!session) {
    return <SignIn error={error} onSignedIn={(s, token) => {
      storeToken(token);
      setError(undefined);
      setSession(s);
    }} />;
  }
  return (
    <SessionContext.Provider value={{ ...session, signOut }}>
      <Shell />
    </SessionContext.Provider>
  );
}

function SignIn(props: { error?: string; onSignedIn: (s: Omit<Session, "signOut">, token: string) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState(props.error);
  const [busy, setBusy] = useState(false);
  return (
    <main class="signin">
      <h1>Flightdeck</h1>
      <form onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        try {
          props.onSignedIn(await signIn(token.trim()), token.trim());
        } catch (err) {
          setError(errorText(err));
        } finally {
          setBusy(false);
        }
      }}>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" required value={token}
               onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        <p class="muted small">Kept in this tab only (sessionStorage) until you sign out or close it.</p>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary" disabled={busy}>Sign in</button>
      </form>
    </main>
  );
}

const nav: { to: string; label: string; admin?: boolean }[] = [
  { to: "/", label: "Overview" },
  { to: "/releases", label: "Releases" },
  { to: "/incidents", label: "Incidents" },
  { to: "/health", label: "Health" },
  { to: "/backups", label: "Backups" },
  { to: "/windows", label: "Windows" },
  { to: "/audit", label: "Audit", admin: true },
];

function Shell() {
  const path = usePath();
  // After a page change, keyboard and screen-reader users start at the new page's content.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById("main")?.focus({ preventScroll: false });
  }, [path]);
  return (
    <SessionContext.Consumer>
      {(s) => s && (
        <>
          <a class="skip" href="#main">Skip to content</a>
          <header class="top">
            <span class="brand">Flightdeck</span>
            <nav aria-label="Pages">
              <ul>
                {nav.filter((n) => !n.admin || may.administer(s.principal.role)).map((n) => {
                  const active = n.to === "/" ? path === "/" : path.startsWith(n.to);
                  return <li key={n.to}><Link to={n.to} aria-current={active ? "page" : undefined}>{n.label}</Link></li>;
                })}
              </ul>
            </nav>
            <span class="who" data-testid="principal">{s.principal.name} <span class="role">{roleName(s.principal.role)}</span></span>
            <button class="link" onClick={() => {
              s.signOut();
              navigate("/");
            }}>Sign out</button>
          </header>
          <main id="main" tabIndex={-1}><Page path={path} /></main>
        </>
      )}
    </SessionContext.Consumer>
  );
}

function Page(props: { path: string }) {
  const parts = props.path.split("/").filter(Boolean);
  switch (parts[0]) {
    case undefined: return <Overview />;
    case "releases": return parts[1] ? <ReleasePage key={parts[1]} id={parts[1]} /> : <ReleasesPage />;
    case "incidents": return parts[1] ? <IncidentPage key={parts[1]} id={parts[1]} /> : <IncidentsPage />;
    case "health": return <HealthPage />;
    case "backups": return <BackupsPage />;
    case "windows": return parts[1] ? <WindowPage key={parts[1]} name={parts[1]} /> : <WindowsPage />;
    case "audit": return <AuditPage />;
    default: return <p>No such page. <Link to="/">Overview</Link></p>;
  }
}

render(<App />, document.getElementById("app")!);
