// An incident's follow-up: its review and its action items (operators write them).
import { useState } from "preact/hooks";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ActionItem_State, Incident_State, type Incident } from "../gen/flightdeck/v1/incidents_pb";
import { may } from "../api";
import { useSession } from "../session";
import { errorText } from "../live";
import { Badge, ErrorLine } from "../widgets";
import { clock } from "../format";

export function FollowUp(props: { i: Incident; changed: () => void }) {
  const { api, principal } = useSession();
  const { i } = props;
  const canOperate = may.operate(principal.role);
  const [error, setError] = useState<string | undefined>();
  const run = async (call: () => Promise<unknown>) => {
    try {
      await call();
      setError(undefined);
      props.changed();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const ended = i.state === Incident_State.RESOLVED || i.state === Incident_State.CLOSED;
  return (
    <>
      <section aria-labelledby="review-title">
        <h2 id="review-title">Review {i.reviewOverdue && <Badge tone="bad">overdue</Badge>}</h2>
        {i.review?.submittedAt ? (
          <dl class="facts">
            <div><dt>Summary</dt><dd>{i.review.summary}</dd></div>
            <div><dt>Impact</dt><dd>{i.review.impact || "—"}</dd></div>
            <div><dt>Root cause</dt><dd>{i.review.rootCause || "—"}</dd></div>
            <div><dt>By</dt><dd>{i.review.author} at {clock(i.review.submittedAt)}</dd></div>
          </dl>
        ) : canOperate && ended ? <ReviewForm onSubmit={(r) => run(() => api.incidents.submitReview({ id: i.id, ...r }))} />
          : <p class="muted">{ended ? "No review yet." : "Reviewed once resolved."}{i.reviewDue && ` Due ${clock(i.reviewDue)}.`}</p>}
      </section>
      <section aria-labelledby="actions-title">
        <h2 id="actions-title">Action items</h2>
        {i.actions.length === 0 ? <p class="muted">None.</p> : (
          <ul class="action-items">
            {i.actions.map((a) => (
              <li key={a.id}>
                <Badge tone={a.state === ActionItem_State.DONE ? "ok" : a.overdue ? "bad" : "info"}>
                  {a.state === ActionItem_State.DONE ? "done" : a.overdue ? "overdue" : "open"}</Badge>{" "}
                {a.title} <span class="muted">— {a.owner || "no owner"}{a.due && `, due ${clock(a.due)}`}</span>
                {canOperate && a.state !== ActionItem_State.DONE && (
                  <button class="small-button" onClick={() => run(() => api.incidents.completeAction({ id: a.id }))}
                          aria-label={`Mark "${a.title}" done`}>Done</button>)}
              </li>
            ))}
          </ul>
        )}
        {canOperate && i.state !== Incident_State.CLOSED && <ActionForm onAdd={(a) => run(() => api.incidents.addAction({ id: i.id, ...a }))} />}
      </section>
      <ErrorLine error={error} />
    </>
  );
}

function ReviewForm(props: { onSubmit: (r: { summary: string; impact: string; rootCause: string }) => Promise<void> }) {
  const [summary, setSummary] = useState("");
  const [impact, setImpact] = useState("");
  const [rootCause, setRootCause] = useState("");
  return (
    <form class="stacked" onSubmit={(e) => {
      e.preventDefault();
      void props.onSubmit({ summary, impact, rootCause });
    }}>
      <label for="rv-summary">Summary</label>
      <textarea id="rv-summary" rows={2} required value={summary} onInput={(e) => setSummary((e.target as HTMLTextAreaElement).value)} />
      <label for="rv-impact">Impact</label>
      <textarea id="rv-impact" rows={2} value={impact} onInput={(e) => setImpact((e.target as HTMLTextAreaElement).value)} />
      <label for="rv-cause">Root cause</label>
      <textarea id="rv-cause" rows={2} value={rootCause} onInput={(e) => setRootCause((e.target as HTMLTextAreaElement).value)} />
      <div><button type="submit" class="primary">Submit review</button></div>
    </form>
  );
}

function ActionForm(props: { onAdd: (a: { title: string; owner: string; due?: ReturnType<typeof timestampFromDate> }) => Promise<void> }) {
  const [title, setTitle] = useState("");
  const [owner, setOwner] = useState("");
  const [due, setDue] = useState("");
  return (
    <form class="inline" onSubmit={async (e) => {
      e.preventDefault();
      await props.onAdd({ title, owner, due: due ? timestampFromDate(new Date(`${due}T23:59:59`)) : undefined });
      setTitle("");
      setOwner("");
      setDue("");
    }}>
      <label for="ai-title">New action</label>
      <input id="ai-title" required value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
      <label for="ai-owner">Owner</label>
      <input id="ai-owner" value={owner} onInput={(e) => setOwner((e.target as HTMLInputElement).value)} />
      <label for="ai-due">Due</label>
      <input id="ai-due" type="date" value={due} onInput={(e) => setDue((e.target as HTMLInputElement).value)} />
      <button type="submit">Add</button>
    </form>
  );
}
