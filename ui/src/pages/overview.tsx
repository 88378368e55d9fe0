// What runs where, and is it OK: every service × environment on one screen, live.
import type { OverviewEntry } from "../gen/flightdeck/v1/gateway_pb";
import type { Incident } from "../gen/flightdeck/v1/incidents_pb";
import type { BackupTarget } from "../gen/flightdeck/v1/backups_pb";
import { useSession } from "../session";
import { useNow, usePoll, useStream } from "../live";
import { Link } from "../router";
import { Badge, ErrorLine, LiveIndicator } from "../widgets";
import { WeightBar } from "../charts";
import { ago, date, seconds, shortSha, span } from "../format";
import { healthName, healthTone, incidentState, lastVerdict, releaseState, releaseTone, severity,
         severityTone, verdictTone } from "../states";
import { Incident_State } from "../gen/flightdeck/v1/incidents_pb";

export function Overview() {
  const { api } = useSession();
  const now = useNow();
  // Releases have no "watch everything" stream: the overview is fetched every 3 s, and at once
  // when an incident or health stream says something changed.
  const overview = usePoll([], () => api.gateway.getOverview({}), 3000);
  const incidents = useStream([], (o) => api.incidents.watchIncidents({}, o), () => overview.reload(), true);
  useStream([], (o) => api.health.watchHealth({}, o), () => overview.reload(), true);
  const o = overview.data;
  return (
    <section aria-labelledby="overview-title">
      <header class="page-head">
        <h1 id="overview-title">Overview</h1>
        <LiveIndicator state={incidents} />
        {o && <span class="muted">updated {ago(o.generatedAt, now)}</span>}
      </header>
      <ErrorLine error={overview.error} />
      {o && o.unavailable.length > 0 && (
        <p class="warning" role="alert">Not answering: {o.unavailable.join(", ")} — their parts are missing, not empty.</p>
      )}
      {!o && !overview.error && <p class="muted">Loading…</p>}
      {o && (
        <div class="table-wrap">
          <table class="overview" data-testid="overview">
            <caption class="sr-only">Every service and environment</caption>
            <thead>
              <tr><th scope="col">Service</th><th scope="col">Runs now</th><th scope="col">In flight</th>
                <th scope="col">Health</th><th scope="col">Open incidents</th></tr>
            </thead>
            <tbody>
              {o.entries.length === 0 && <tr><td colSpan={5} class="muted">Nothing deployed, probed or on fire yet.</td></tr>}
              {o.entries.map((e) => <Row key={`${e.service}/${e.environment}`} e={e} now={now} />)}
            </tbody>
          </table>
        </div>
      )}
      {o && o.otherIncidents.length > 0 && (
        <p>Open incidents for no service: {o.otherIncidents.map((i) => <IncidentChip key={i.id} i={i} now={now} />)}</p>
      )}
      {o && <Backups targets={o.backups} now={now} />}
    </section>
  );
}

function Row(props: { e: OverviewEntry; now: number }) {
  const { e, now } = props;
  const cur = e.current;
  const fl = e.inFlight;
  const verdict = fl ? lastVerdict(fl) : undefined;
  return (
    <tr data-service={e.service} data-environment={e.environment}>
      <th scope="row"><span class="svc">{e.service}</span> <span class="env">{e.environment}</span></th>
      <td data-label="Runs now">
        {cur ? (
          <Link to={`/releases/${cur.id}`}>
            <strong>{cur.version}</strong> <code>{shortSha(cur.commitSha)}</code>
            <span class="muted"> since {ago(cur.finishedAt ?? cur.updatedAt, now)}</span>
          </Link>
        ) : <span class="muted">—</span>}
      </td>
      <td data-testid="in-flight" data-label="In flight">
        {fl ? (
          <div class="flight">
            <Link to={`/releases/${fl.id}`}><strong>{fl.version}</strong> <code>{shortSha(fl.commitSha)}</code></Link>{" "}
            <Badge tone={releaseTone(fl.state)}>{releaseState(fl.state)}</Badge>
            {fl.paused && <Badge tone="warn">PAUSED</Badge>}
            <div class="weight-line"><WeightBar weight={fl.currentWeight} />
              <span data-testid="weight">{fl.currentWeight}%</span>
              {verdict && <Badge tone={verdictTone(verdict)} label={`last verdict ${verdict}`}>{verdict}</Badge>}
            </div>
            {e.queued > 0 && <span class="muted">{e.queued} queued</span>}
          </div>
        ) : <span class="muted">—</span>}
      </td>
      <td data-label="Health">
        {e.health ? (
          <span title={e.health.reason}>
            <Badge tone={healthTone(e.health.status)}>{healthName(e.health.status)}</Badge>
            <span class="muted"> {ago(e.health.statusSince, now)}</span>
          </span>
        ) : <span class="muted">not probed</span>}
      </td>
      <td data-label="Incidents">
        {e.openIncidents.length === 0 ? <span class="muted">none</span>
          : e.openIncidents.map((i) => <IncidentChip key={i.id} i={i} now={now} />)}
      </td>
    </tr>
  );
}

export function IncidentChip(props: { i: Incident; now: number }) {
  const { i, now } = props;
  const deadline = date(i.ackDeadline);
  let ack = "";
  if (i.state === Incident_State.TRIGGERED && deadline) {
    const left = (deadline.getTime() - now) / 1000;
    ack = left > 0 ? `ack in ${span(left)}` : `ack overdue ${span(-left)}`;
  }
  return (
    <Link to={`/incidents/${i.id}`} class="chip">
      <Badge tone={severityTone(i.severity)}>{severity(i.severity)}</Badge> {i.title}{" "}
      <span class="muted">{incidentState(i.state).toLowerCase()}</span>
      {ack && <span class={`countdown ${i.ackBreached || ack.includes("overdue") ? "bad" : ""}`}> · {ack}</span>}
    </Link>
  );
}

function Backups(props: { targets: BackupTarget[]; now: number }) {
  return (
    <section aria-labelledby="ov-backups">
      <h2 id="ov-backups">Backups</h2>
      {props.targets.length === 0 ? <p class="muted">No backup targets.</p> : (
        <div class="table-wrap">
          <table>
            <thead><tr><th scope="col">Target</th><th scope="col">Last backup</th><th scope="col">RPO</th>
              <th scope="col">Verified</th></tr></thead>
            <tbody>
              {props.targets.map((t) => <BackupRow key={t.name} t={t} now={props.now} />)}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function BackupRow(props: { t: BackupTarget; now: number; children?: preact.ComponentChildren }) {
  const { t, now } = props;
  const st = t.status;
  // Only a backup known to restore (verification passed) meets the RPO.
  const achieved = seconds(st?.verifiedRpo);
  const target = seconds(t.rpoTarget);
  return (
    <tr>
      <th scope="row">{t.name}</th>
      <td>{st?.lastSuccessAt ? ago(st.lastSuccessAt, now) : <span class="muted">never</span>}
        {st?.lastFailureReason && <div class="error small">last failure: {st.lastFailureReason}</div>}</td>
      <td>
        <Badge tone={st?.rpoMet ? "ok" : "bad"}>{st?.rpoMet ? "met" : "missed"}</Badge>{" "}
        {achieved !== undefined ? span(achieved) : "—"} / {target !== undefined ? span(target) : "—"}
      </td>
      <td>{st?.lastBackupVerified ? <Badge tone="ok">verified</Badge> : <Badge tone="muted">not verified</Badge>}</td>
      {props.children}
    </tr>
  );
}
