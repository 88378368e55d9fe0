// Service roll-ups, probe targets with their state, 24-hour uptime and latency, and the latest
// smoke runs with their failing checks; live through WatchHealth.
import { useSession } from "../session";
import { useNow, usePoll, useStream } from "../live";
import { Badge, ErrorLine, LiveIndicator } from "../widgets";
import { Sparkline } from "../charts";
import { ago, percent, shortId } from "../format";
import { healthName, healthTone } from "../states";
import { SmokeRun_State } from "../gen/flightdeck/v1/health_pb";

export function HealthPage() {
  const { api } = useSession();
  const now = useNow(5000);
  const targets = usePoll([], () => api.health.listTargets({ pageSize: 200 }), 10000);
  const stream = useStream([], (o) => api.health.watchHealth({}, o), () => targets.reload(), true);
  const list = targets.data?.targets ?? [];
  // The roll-ups are the overview's: one call for every service and environment.
  const overview = usePoll([], () => api.gateway.getOverview({}), 10000);
  const rollups = (overview.data?.entries ?? []).filter((e) => e.health);
  return (
    <section aria-labelledby="health-title">
      <header class="page-head"><h1 id="health-title">Health</h1><LiveIndicator state={stream} /></header>
      <ErrorLine error={targets.error ?? overview.error} />
      <h2>Services</h2>
      <div class="table-wrap">
        <table>
          <thead><tr><th scope="col">Service</th><th scope="col">Environment</th><th scope="col">Health</th>
            <th scope="col">Why</th></tr></thead>
          <tbody>
            {overview.data && rollups.length === 0 && <tr><td colSpan={4} class="muted">No service has probe targets.</td></tr>}
            {rollups.map((e) => (
              <tr key={`${e.service}/${e.environment}`}>
                <th scope="row">{e.service}</th>
                <td>{e.environment}</td>
                <td><Badge tone={healthTone(e.health!.status)}>{healthName(e.health!.status)}</Badge>
                  <span class="muted"> {ago(e.health!.statusSince, now)}</span></td>
                <td>{e.health!.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Targets</h2>
      <div class="table-wrap">
        <table>
          <thead><tr><th scope="col">Target</th><th scope="col">Service</th><th scope="col">State</th>
            <th scope="col">Last probe</th><th scope="col">Uptime 24 h</th><th scope="col">Latency (recent)</th></tr></thead>
          <tbody>
            {targets.data && list.length === 0 && <tr><td colSpan={6} class="muted">No probe targets.</td></tr>}
            {list.map((t, n) => (
              <tr key={t.name}>
                <th scope="row">{t.name} <span class="muted small">{t.kind} {t.role}</span></th>
                <td>{t.service} / {t.environment}</td>
                <td><Badge tone={healthTone(t.status)}>{healthName(t.status)}</Badge>
                  <span class="muted"> {ago(t.statusSince, now)}</span></td>
                <td>{t.lastResult ? <>{t.lastResult.ok ? "ok" : <span class="error">{t.lastResult.error || "failed"}</span>}
                  {" "}{t.lastResult.latencyMs.toFixed(t.lastResult.latencyMs < 10 ? 1 : 0)} ms</> : <span class="muted">—</span>}</td>
                <td>{n < 50 ? <Uptime name={t.name} /> : null}</td>
                <td>{n < 50 ? <TargetSpark name={t.name} /> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <SmokeRuns />
    </section>
  );
}

// The share of a target's probes that passed over the last 24 hours (GetTargetStats).
function Uptime(props: { name: string }) {
  const { api } = useSession();
  const stats = usePoll([props.name], () => api.health.getTargetStats({ name: props.name, windowSeconds: 86400n }), 60000);
  if (!stats.data) return <span class="muted">—</span>;
  if (stats.data.probes === 0n) return <span class="muted">no probes</span>;
  return <span title={`${stats.data.successes} of ${stats.data.probes} probes passed`}>{percent(stats.data.successRatio)}</span>;
}

// The latest smoke runs, with the checks that failed and why.
function SmokeRuns() {
  const { api } = useSession();
  const now = useNow(5000);
  const runs = usePoll([], () => api.smoke.listSmokeRuns({ pageSize: 10 }), 10000);
  const list = runs.data?.runs ?? [];
  return (
    <>
      <h2>Smoke runs</h2>
      <ErrorLine error={runs.error} />
      <div class="table-wrap">
        <table>
          <thead><tr><th scope="col">Run</th><th scope="col">Suite</th><th scope="col">Result</th>
            <th scope="col">Started</th><th scope="col">Failing checks</th></tr></thead>
          <tbody>
            {runs.data && list.length === 0 && <tr><td colSpan={5} class="muted">No smoke runs yet.</td></tr>}
            {list.map((r) => (
              <tr key={r.id}>
                <th scope="row"><code>{shortId(r.id)}</code>{r.releaseId && <span class="muted small"> release {shortId(r.releaseId)}</span>}</th>
                <td>{r.suite || <span class="muted">ad hoc</span>}</td>
                <td><Badge tone={r.state === SmokeRun_State.PASSED ? "ok" : r.state === SmokeRun_State.FAILED ? "bad" : "info"}>
                  {SmokeRun_State[r.state]}</Badge> <span class="muted">{r.passedCount}/{r.passedCount + r.failedCount}</span></td>
                <td>{ago(r.createdAt, now)}</td>
                <td>{r.results.filter((c) => !c.passed).map((c) => (
                  <div key={c.name}><strong>{c.name}</strong>: <span class="error">{c.error || `HTTP ${c.statusCode}`}</span></div>
                ))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function TargetSpark(props: { name: string }) {
  const { api } = useSession();
  const t = usePoll([props.name], () => api.health.getTarget({ name: props.name }), 15000);
  const points = [...(t.data?.recentResults ?? [])].reverse().map((r) => ({ ms: r.latencyMs, ok: r.ok }));
  return <Sparkline points={points} label={`latency of the last ${points.length} probes of ${props.name}`} />;
}
