// Maintenance windows and freezes: when each opens next and what it covers, when changes to a
// service may next go out, and a window's checklist with a tick for the items a person confirms.
import { useState } from "preact/hooks";
import type { ChecklistItemState } from "../gen/flightdeck/v1/releases_pb";
import { may } from "../api";
import { useSession } from "../session";
import { errorText, useNow, usePoll } from "../live";
import { Link } from "../router";
import { Badge, ErrorLine, ReasonDialog, type ReasonRequest } from "../widgets";
import { clock } from "../format";
import {
  checkName, checklistDetail, checklistStateName, checklistTone, coverage, nextOpening, smokeLine, smokeTone, tickable, when,
  windowKind, windowKindTone,
} from "../windows";

export function WindowsPage() {
  const { api } = useSession();
  const now = useNow(5000);
  const list = usePoll([], () => api.releases.listWindows({}), 10000);
  const windows = list.data?.windows ?? [];
  return (
    <section aria-labelledby="windows-title">
      <header class="page-head"><h1 id="windows-title">Windows</h1></header>
      <NextWindowForm />
      <ErrorLine error={list.error} />
      <div class="table-wrap">
        <table data-testid="windows">
          <thead><tr><th scope="col">Window</th><th scope="col">Kind</th><th scope="col">When</th>
            <th scope="col">Covers</th><th scope="col">Next opening</th><th scope="col">Last smoke</th></tr></thead>
          <tbody>
            {list.data && windows.length === 0 && <tr><td colSpan={6} class="muted">No windows or freezes.</td></tr>}
            {windows.map((w) => (
              <tr key={w.name}>
                <th scope="row"><Link to={`/windows/${w.name}`}>{w.name}</Link></th>
                <td><Badge tone={windowKindTone(w.kind)}>{windowKind(w.kind)}</Badge></td>
                <td>{when(w)}</td>
                <td>{coverage(w)}</td>
                <td data-testid={`next-${w.name}`}>{nextOpening(w, now)}</td>
                <td>{w.smokeSuite ? <Badge tone={smokeTone(w.lastSmoke)}>{w.lastSmoke?.state ?? "none yet"}</Badge>
                                  : <span class="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

// "When may api next go out to production?"
function NextWindowForm() {
  const { api } = useSession();
  const [service, setService] = useState("");
  const [environment, setEnvironment] = useState("production");
  const [answer, setAnswer] = useState<string[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  return (
    <section aria-labelledby="next-title">
      <h2 id="next-title">When changes may next go out</h2>
      <form class="inline" onSubmit={async (e) => {
        e.preventDefault();
        try {
          const n = await api.releases.getNextWindow({ service: service.trim(), environment: environment.trim() });
          const lines = [n.open ? `Open now${n.closesAt ? `, until ${clock(n.closesAt)}` : ""}.`
                                : `Closed: ${n.reason}. ${n.opensAt ? `Next opening ${clock(n.opensAt)}.` : "No opening within a year."}`];
          lines.push(n.requiredWindow ? `Required window: ${n.requiredWindow}.` : "No maintenance window is required.");
          if (n.checklist) lines.push(`Checklist: ${checklistStateName(n.checklist.verdict)}.`);
          setAnswer(lines);
          setError(undefined);
        } catch (err) {
          setAnswer(undefined);
          setError(errorText(err));
        }
      }}>
        <label for="next-service">Service</label>
        <input id="next-service" required value={service} onInput={(e) => setService((e.target as HTMLInputElement).value)} />
        <label for="next-env">Environment</label>
        <input id="next-env" required value={environment} onInput={(e) => setEnvironment((e.target as HTMLInputElement).value)} />
        <button type="submit">Ask</button>
      </form>
      <ErrorLine error={error} />
      {answer && <p role="status" data-testid="next-window">{answer.join(" ")}</p>}
    </section>
  );
}

export function WindowPage(props: { name: string }) {
  const { api, principal } = useSession();
  const now = useNow(5000);
  const window = usePoll([props.name], () => api.releases.getWindow({ name: props.name }), 10000);
  const checklist = usePoll([props.name], () => api.releases.getWindowChecklist({ name: props.name }), 10000);
  const [dialog, setDialog] = useState<ReasonRequest | null>(null);
  const canTick = may.operate(principal.role);
  const w = window.data;
  const c = checklist.data;
  const tick = (i: ChecklistItemState) => setDialog({
    title: `Tick "${i.item?.name}" for this opening`, label: "Note", confirm: "Tick", required: false,
    run: async (note) => {
      await api.releases.tickChecklistItem({ name: props.name, item: i.item?.name ?? "", note });
      checklist.reload();
    },
  });
  return (
    <section aria-labelledby="window-title">
      <header class="page-head"><h1 id="window-title">Window {props.name}</h1>
        <Link to="/windows">All windows</Link></header>
      <ErrorLine error={window.error} />
      {w && (
        <dl class="facts">
          <div><dt>Kind</dt><dd><Badge tone={windowKindTone(w.kind)}>{windowKind(w.kind)}</Badge></dd></div>
          <div><dt>When</dt><dd>{when(w)}</dd></div>
          <div><dt>Covers</dt><dd>{coverage(w)}</dd></div>
          <div><dt>Next opening</dt><dd>{nextOpening(w, now)}</dd></div>
          {w.smokeSuite && <div><dt>Smoke suite after each opening</dt><dd><code>{w.smokeSuite}</code></dd></div>}
          {w.smokeSuite && <div><dt>Last smoke</dt><dd data-testid="last-smoke">
            <Badge tone={smokeTone(w.lastSmoke)}>{w.lastSmoke?.state ?? "none yet"}</Badge> {smokeLine(w.lastSmoke)}
            {w.lastSmoke?.summary && <span class="muted"> — {w.lastSmoke.summary}</span>}</dd></div>}
          {w.description && <div><dt>About</dt><dd>{w.description}</dd></div>}
        </dl>
      )}
      <section aria-labelledby="checklist-title">
        <h2 id="checklist-title">Checklist {c && <Badge tone={checklistTone(c.verdict)}>
          <span data-testid="checklist-verdict">{checklistStateName(c.verdict)}</span></Badge>}</h2>
        {c?.occurrence && <p class="muted">For the opening {clock(c.occurrence.start)} – {clock(c.occurrence.end)}</p>}
        <ErrorLine error={checklist.error} />
        {c && c.items.length === 0 && <p class="muted">This window has no checklist.</p>}
        {c && c.items.length > 0 && (
          <div class="table-wrap">
            <table data-testid="checklist">
              <thead><tr><th scope="col">Item</th><th scope="col">Check</th><th scope="col">State</th>
                <th scope="col">Detail</th>{canTick && <th scope="col">Actions</th>}</tr></thead>
              <tbody>
                {c.items.map((i) => (
                  <tr key={i.item?.name}>
                    <th scope="row">{i.item?.name}{i.item?.required ? "" : <span class="muted"> (optional)</span>}</th>
                    <td>{checkName(i)}</td>
                    <td><Badge tone={checklistTone(i.state)}>{checklistStateName(i.state)}</Badge></td>
                    <td>{checklistDetail(i)}</td>
                    {canTick && <td class="actions">{tickable(i) &&
                      <button onClick={() => tick(i)}>{i.tickedBy ? "Tick again" : "Tick"}</button>}</td>}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {!canTick && c && c.items.some(tickable) && <p class="muted small">Ticking items needs OPERATOR.</p>}
      </section>
      <ReasonDialog request={dialog} onClose={() => setDialog(null)} />
    </section>
  );
}
