// One release: its state, the timeline streaming live, the canary analysis as a chart, and the
// actions the state and the role allow.
import { useRef, useState } from "preact/hooks";
import { Release_State, type Release, type ReleaseEvent } from "../gen/flightdeck/v1/releases_pb";
import { may } from "../api";
import { useSession } from "../session";
import { useNow, usePoll, useStream } from "../live";
import { Link } from "../router";
import { Badge, ErrorLine, LiveIndicator, ReasonDialog, type ReasonRequest } from "../widgets";
import { CanaryChart, WeightBar, type Verdict } from "../charts";
import { ago, clock, date, shortId, shortSha } from "../format";
import { releaseActions, releaseState, releaseTone, terminal, verdictTone } from "../states";
import { bakeView } from "../windows";

export function ReleasePage(props: { id: string }) {
  const { api, principal } = useSession();
  const now = useNow();
  const release = usePoll([props.id], () => api.releases.getRelease({ id: props.id }), 5000);
  const [events, setEvents] = useState<ReleaseEvent[]>([]);
  const [dialog, setDialog] = useState<ReasonRequest | null>(null);
  // The stream sends the timeline, then each new event until the release ends; after a
  // reconnect it resumes after the last event it delivered.
  const lastId = useRef(0n);
  const stream = useStream([props.id], (o) =>
    api.releases.watchRelease({ id: props.id, afterEventId: lastId.current }, o), (ev) => {
    if (ev.id > lastId.current) lastId.current = ev.id;
    setEvents((prev) => (prev.some((p) => p.id === ev.id) ? prev : [...prev, ev]));
    release.reload();
  });
  const r = release.data;
  const verdicts = events.filter((e) => e.type === "ANALYSIS").map(toVerdict);
  const canDrive = may.driveReleases(principal.role);
  const actions = r ? releaseActions(r) : undefined;
  const bake = r ? bakeView(r, now) : undefined;
  const act = (title: string, confirm: string, required: boolean,
               call: (reason: string) => Promise<unknown>) =>
    setDialog({ title, label: "Reason", confirm, required, run: async (reason) => {
      await call(reason);
      release.reload();
    } });
  return (
    <section aria-labelledby="release-title">
      <header class="page-head">
        <h1 id="release-title">Release {r ? `${r.service} ${r.version} → ${r.environment}` : shortId(props.id)}</h1>
        <LiveIndicator state={stream} />
      </header>
      <ErrorLine error={release.error} />
      {r && (
        <div class="release-summary">
          <dl class="facts">
            <div><dt>State</dt><dd><Badge tone={releaseTone(r.state)}>
              <span data-testid="release-state">{releaseState(r.state)}</span></Badge>
              {r.paused && <Badge tone="warn">PAUSED</Badge>}</dd></div>
            <div><dt>Canary weight</dt><dd class="weight-line"><WeightBar weight={r.currentWeight} />
              <span data-testid="release-weight">{r.currentWeight}%</span>
              <span class="muted">step {Math.max(r.currentStep + 1, 0)} of {r.canary?.steps.length ?? 0}</span></dd></div>
            <div><dt>Commit</dt><dd><code>{shortSha(r.commitSha)}</code> {r.image && <span class="muted">{r.image}</span>}</dd></div>
            <div><dt>Created</dt><dd>by {r.createdBy} {ago(r.createdAt, now)}</dd></div>
            {r.approvedBy && <div><dt>Approved by</dt><dd data-testid="approved-by">{r.approvedBy}</dd></div>}
            {r.outcomeReason && <div><dt>Outcome</dt><dd>{r.outcomeReason}</dd></div>}
            {bake && <div><dt>{bake.baking ? "Baking" : "Bake"}</dt><dd data-testid="release-bake">{bake.text}
              {bake.verdict && <> · last verdict <Badge tone={verdictTone(bake.verdict)}>{bake.verdict}</Badge></>}</dd></div>}
            {r.nextAnalysisAt && !terminal.has(r.state) && (
              <div><dt>Next analysis</dt><dd>{clock(r.nextAnalysisAt)}</dd></div>)}
          </dl>
          {canDrive && actions && (
            <div class="actions" role="group" aria-label="Release actions">
              {actions.approve && <button class="primary" onClick={() =>
                act("Approve this release", "Approve", false, (reason) => api.releases.approveRelease({ id: r.id, reason }))}>Approve</button>}
              {actions.promote && <button onClick={() =>
                act("Promote: skip the remaining canary steps", "Promote", false, (reason) => api.releases.promoteRelease({ id: r.id, reason }))}>Promote</button>}
              {actions.abort && <button class="danger" onClick={() =>
                act("Abort: roll back what was deployed", "Abort", true, (reason) => api.releases.abortRelease({ id: r.id, reason }))}>Abort</button>}
              {actions.rollback && <button class="danger" onClick={() =>
                act("Roll back to the release before this one", "Roll back", true, (reason) => api.releases.rollbackRelease({ id: r.id, reason }))}>Roll back</button>}
            </div>
          )}
          {!canDrive && <p class="muted small">Your role may look, not act: release actions need DEPLOYER.</p>}
        </div>
      )}
      <section aria-labelledby="analysis-title">
        <h2 id="analysis-title">Canary analysis</h2>
        {verdicts.length === 0 ? <p class="muted">No verdicts yet.</p> : (
          <>
            <CanaryChart verdicts={verdicts} />
            <p class="legend"><span class="key pass" /> pass <span class="key fail" /> fail
              <span class="key inconclusive" /> inconclusive <span class="key threshold" /> threshold</p>
            <p data-testid="verdict-count">{verdicts.length} verdicts, last <Badge tone={verdictTone(verdicts[verdicts.length - 1].verdict)}>
              {verdicts[verdicts.length - 1].verdict}</Badge></p>
          </>
        )}
      </section>
      {r && canDrive && <RollbackToCommit r={r} />}
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        <ol class="timeline" data-testid="timeline" aria-live="polite">
          {events.map((e) => (
            <li key={String(e.id)}>
              <time dateTime={date(e.at)?.toISOString()}>{clock(e.at)}</time>
              <span class="kind">{e.type}</span> <span class="msg"><span class="actor">{e.actor}</span> {e.message}</span>
            </li>
          ))}
        </ol>
      </section>
      <ReasonDialog request={dialog} onClose={() => setDialog(null)} />
    </section>
  );
}

function toVerdict(e: ReleaseEvent): Verdict {
  const d = (e.data ?? {}) as Record<string, unknown>;
  const num = (k: string) => (typeof d[k] === "number" ? (d[k] as number) : undefined);
  return {
    at: date(e.at), verdict: String(d.verdict ?? "?"), step: num("step") ?? 0, weight: num("weight") ?? 0,
    errorRate: num("error_rate"), p99: num("p99_latency_ms"), maxErrorRate: num("max_error_rate"),
    maxP99: num("max_p99_latency_ms"), requests: num("requests"),
  };
}

// Rollback to any commit that once succeeded in this environment.
function RollbackToCommit(props: { r: Release }) {
  const { api } = useSession();
  const { r } = props;
  const [dialog, setDialog] = useState<ReasonRequest | null>(null);
  const good = usePoll([r.service, r.environment], () =>
    api.releases.listReleases({ service: r.service, environment: r.environment, state: "SUCCEEDED", pageSize: 20 }), 30000);
  const commits = (good.data?.releases ?? []).filter((x, i, all) =>
    all.findIndex((y) => y.commitSha === x.commitSha) === i);
  const [sha, setSha] = useState("");
  if (commits.length === 0) return null;
  return (
    <section aria-labelledby="rb-title">
      <h2 id="rb-title">Roll {r.service} in {r.environment} back to a good commit</h2>
      <form class="inline" onSubmit={(e) => {
        e.preventDefault();
        const to = sha || commits[0].commitSha;
        setDialog({ title: `Deploy ${shortSha(to)} to ${r.environment}`, label: "Reason", confirm: "Roll back",
                    required: true, run: (reason) => api.releases.rollbackServiceEnvironment(
                      { service: r.service, environment: r.environment, toCommitSha: to, reason }) });
      }}>
        <label for="rb-commit">Commit that succeeded here</label>
        <select id="rb-commit" value={sha} onChange={(e) => setSha((e.target as HTMLSelectElement).value)}>
          {commits.map((c) => <option key={c.id} value={c.commitSha}>{shortSha(c.commitSha)} — {c.version} ({clock(c.finishedAt)})</option>)}
        </select>
        <button type="submit" class="danger">Roll back…</button>
      </form>
      <ReasonDialog request={dialog} onClose={() => setDialog(null)} />
    </section>
  );
}

export function ReleasesPage() {
  const { api } = useSession();
  const now = useNow(5000);
  const list = usePoll([], () => api.releases.listReleases({ pageSize: 50 }), 4000);
  return (
    <section aria-labelledby="releases-title">
      <header class="page-head"><h1 id="releases-title">Releases</h1></header>
      <ErrorLine error={list.error} />
      <div class="table-wrap">
        <table>
          <thead><tr><th scope="col">Release</th><th scope="col">State</th><th scope="col">Weight</th>
            <th scope="col">Created</th></tr></thead>
          <tbody>
            {(list.data?.releases ?? []).map((r) => (
              <tr key={r.id}>
                <th scope="row"><Link to={`/releases/${r.id}`}>{r.service} {r.version} → {r.environment}</Link>{" "}
                  <code>{shortSha(r.commitSha)}</code></th>
                <td><Badge tone={releaseTone(r.state)}>{releaseState(r.state)}</Badge></td>
                <td>{r.state === Release_State.CANARY ? `${r.currentWeight}%` : "—"}</td>
                <td>{ago(r.createdAt, now)} by {r.createdBy}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
