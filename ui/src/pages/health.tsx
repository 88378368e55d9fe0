// Probe targets with their state and latency, live through WatchHealth.
import { useSession } from "../session";
import { useNow, usePoll, useStream } from "../live";
import { Badge, ErrorLine, LiveIndicator } from "../widgets";
import { Sparkline } from "../charts";
import { ago } from "../format";
import { healthName, healthTone } from "../states";

export function HealthPage() {
  const { api } = useSession();
  const now = useNow(5000);
  const targets = usePoll([], () => api.health.listTargets({ pageSize: 200 }), 10000);
  const stream = useStream([], (o) => api.health.watchHealth({}, o), () => targets.reload(), true);
  const list = targets.data?.targets ?? [];
  return (
    <section aria-labelledby="health-title">
      <header class="page-head"><h1 id="health-title">Health</h1><LiveIndicator state={stream} /></header>
      <ErrorLine error={targets.error} />
      <div class="table-wrap">
        <table>
          <thead><tr><th scope="col">Target</th><th scope="col">Service</th><th scope="col">State</th>
            <th scope="col">Last probe</th><th scope="col">Latency (recent)</th></tr></thead>
          <tbody>
            {targets.data && list.length === 0 && <tr><td colSpan={5} class="muted">No probe targets.</td></tr>}
            {list.map((t, n) => (
              <tr key={t.name}>
                <th scope="row">{t.name} <span class="muted small">{t.kind} {t.role}</span></th>
                <td>{t.service} / {t.environment}</td>
                <td><Badge tone={healthTone(t.status)}>{healthName(t.status)}</Badge>
                  <span class="muted"> {ago(t.statusSince, now)}</span></td>
                <td>{t.lastResult ? <>{t.lastResult.ok ? "ok" : <span class="error">{t.lastResult.error || "failed"}</span>}
                  {" "}{t.lastResult.latencyMs.toFixed(t.lastResult.latencyMs < 10 ? 1 : 0)} ms</> : <span class="muted">—</span>}</td>
                <td>{n < 50 ? <TargetSpark name={t.name} /> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function TargetSpark(props: { name: string }) {
  const { api } = useSession();
  const t = usePoll([props.name], () => api.health.getTarget({ name: props.name }), 15000);
  const points = [...(t.data?.recentResults ?? [])].reverse().map((r) => ({ ms: r.latencyMs, ok: r.ok }));
  return <Sparkline points={points} label={`latency of the last ${points.length} probes of ${props.name}`} />;
}
