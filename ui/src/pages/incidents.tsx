// Incidents: the list (live), and one incident with its timeline (live), acknowledge, resolve
// and status updates.
import { useState } from "preact/hooks";
import { Incident_State, type Incident } from "../gen/flightdeck/v1/incidents_pb";
import { may } from "../api";
import { useSession } from "../session";
import { useNow, usePoll, useStream } from "../live";
import { Link } from "../router";
import { Badge, ErrorLine, LiveIndicator, ReasonDialog, type ReasonRequest } from "../widgets";
import { ago, clock, date, span } from "../format";
import { FollowUp } from "./followup";
import { incidentState, incidentTone, severity, severityTone } from "../states";

function AckCountdown(props: { i: Incident; now: number }) {
  const { i, now } = props;
  const deadline = date(i.ackDeadline);
  if (i.state !== Incident_State.TRIGGERED || !deadline) return <span class="muted">—</span>;
  const left = (deadline.getTime() - now) / 1000;
  return left > 0
    ? <span class="countdown">ack in {span(left)}</span>
    : <span class="countdown bad">overdue {span(-left)}</span>;
}

export function IncidentsPage() {
  const { api } = useSession();
  const now = useNow();
  const [filter, setFilter] = useState("open");
  const list = usePoll([filter], () => api.incidents.listIncidents({ state: filter === "all" ? "" : filter, pageSize: 100 }), 10000);
  const stream = useStream([], (o) => api.incidents.watchIncidents({}, o), () => list.reload(), true);
  return (
    <section aria-labelledby="incidents-title">
      <header class="page-head">
        <h1 id="incidents-title">Incidents</h1>
        <LiveIndicator state={stream} />
        <label for="inc-filter" class="sr-only">Show</label>
        <select id="inc-filter" value={filter} onChange={(e) => setFilter((e.target as HTMLSelectElement).value)}>
          <option value="open">open</option>
          <option value="all">all</option>
          <option value="RESOLVED">resolved</option>
        </select>
      </header>
      <ErrorLine error={list.error} />
      <div class="table-wrap">
        <table data-testid="incidents">
          <thead><tr><th scope="col">Severity</th><th scope="col">Incident</th><th scope="col">State</th>
            <th scope="col">Age</th><th scope="col">Deadline</th></tr></thead>
          <tbody>
            {list.data && list.data.incidents.length === 0 && <tr><td colSpan={5} class="muted">No incidents.</td></tr>}
            {(list.data?.incidents ?? []).map((i) => (
              <tr key={i.id} data-incident={i.id}>
                <td><Badge tone={severityTone(i.severity)}>{severity(i.severity)}</Badge></td>
                <th scope="row"><Link to={`/incidents/${i.id}`}>{i.title}</Link>
                  <div class="muted small">{[i.service, i.environment].filter(Boolean).join(" / ")}</div></th>
                <td><Badge tone={incidentTone(i.state)}>{incidentState(i.state)}</Badge></td>
                <td>{ago(i.openedAt, now)}</td>
                <td><AckCountdown i={i} now={now} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function IncidentPage(props: { id: string }) {
  const { api, principal } = useSession();
  const now = useNow();
  const incident = usePoll([props.id], () => api.incidents.getIncident({ id: props.id }), 10000);
  // Any event of this incident re-reads it (the timeline comes with it).
  const stream = useStream([props.id], (o) => api.incidents.watchIncidents({ incidentId: props.id }, o),
                           () => incident.reload(), true);
  const [dialog, setDialog] = useState<ReasonRequest | null>(null);
  const i = incident.data;
  const canOperate = may.operate(principal.role);
  const ask = (title: string, confirm: string, label: string, required: boolean, call: (m: string) => Promise<unknown>) =>
    setDialog({ title, label, confirm, required, run: async (m) => {
      await call(m);
      incident.reload();
    } });
  const open = i && (i.state === Incident_State.TRIGGERED || i.state === Incident_State.ACKNOWLEDGED);
  return (
    <section aria-labelledby="incident-title">
      <header class="page-head">
        <h1 id="incident-title">{i ? i.title : "Incident"}</h1>
        <LiveIndicator state={stream} />
      </header>
      <ErrorLine error={incident.error} />
      {i && (
        <>
          <dl class="facts">
            <div><dt>Severity</dt><dd><Badge tone={severityTone(i.severity)}>{severity(i.severity)}</Badge></dd></div>
            <div><dt>State</dt><dd><Badge tone={incidentTone(i.state)}><span data-testid="incident-state">{incidentState(i.state)}</span></Badge></dd></div>
            <div><dt>Where</dt><dd>{[i.service, i.environment].filter(Boolean).join(" / ") || "—"}</dd></div>
            <div><dt>Opened</dt><dd>{clock(i.openedAt)} ({ago(i.openedAt, now)}) by {i.declaredBy}</dd></div>
            <div><dt>Acknowledge by</dt><dd><AckCountdown i={i} now={now} /></dd></div>
            <div><dt>Alerts</dt><dd>{i.firingAlertCount} firing of {i.alertCount}</dd></div>
            {i.commander && <div><dt>Commander</dt><dd>{i.commander}</dd></div>}
            {i.deployCorrelated && <div><dt>Deploy</dt><dd>correlated with a release:{" "}
              {i.relatedReleases.map((r) => <Link key={r.releaseId} to={`/releases/${r.releaseId}`}>{r.releaseId.slice(0, 8)} </Link>)}</dd></div>}
          </dl>
          {canOperate && open && (
            <div class="actions" role="group" aria-label="Incident actions">
              {i.state === Incident_State.TRIGGERED && <button class="primary" onClick={() =>
                ask("Acknowledge: you are on it", "Acknowledge", "Message", false,
                    (message) => api.incidents.acknowledgeIncident({ id: i.id, message }))}>Acknowledge</button>}
              <button onClick={() => ask("Post a status update", "Post", "Update", true,
                    (message) => api.incidents.postStatusUpdate({ id: i.id, message }))}>Status update</button>
              <button onClick={() => ask("Resolve", "Resolve", "What fixed it", false,
                    (message) => api.incidents.resolveIncident({ id: i.id, message }))}>Resolve</button>
            </div>
          )}
          {!canOperate && <p class="muted small">Your role may look, not act: incident actions need OPERATOR.</p>}
          {i.updates.length > 0 && (
            <section aria-labelledby="updates-title">
              <h2 id="updates-title">Status updates</h2>
              <ul class="updates">{i.updates.map((u, n) => <li key={n}><time>{clock(u.at)}</time> {u.author}: {u.message}</li>)}</ul>
            </section>
          )}
          <FollowUp i={i} changed={incident.reload} />
          <section aria-labelledby="itl-title">
            <h2 id="itl-title">Timeline</h2>
            <ol class="timeline" data-testid="incident-timeline" aria-live="polite">
              {i.timeline.map((e) => (
                <li key={String(e.id)}>
                  <time dateTime={date(e.at)?.toISOString()}>{clock(e.at)}</time>
                  <span class="kind">{e.kind}</span> <span class="msg"><span class="actor">{e.actor}</span> {e.message}</span>
                </li>
              ))}
            </ol>
          </section>
        </>
      )}
      <ReasonDialog request={dialog} onClose={() => setDialog(null)} />
    </section>
  );
}
