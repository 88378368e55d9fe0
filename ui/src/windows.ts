// How maintenance windows, their checklists, post-window smoke runs and a release's bake read on
// the pages: pure functions of the protos and the current time (ui_unit checks them).
import {
  ChecklistItem_Check, ChecklistItemState_State, Release_State, Window_Kind,
  type ChecklistItemState, type Release, type Window, type WindowSmokeResult,
} from "./gen/flightdeck/v1/releases_pb";
import { clock, date, span } from "./format";
import { lastVerdict, type Tone } from "./states";

export function windowKind(k: Window_Kind): string {
  return Window_Kind[k] ?? "UNKNOWN";
}

export function windowKindTone(k: Window_Kind): Tone {
  return k === Window_Kind.FREEZE ? "warn" : "info";
}

// "services all · environments production, staging"
export function coverage(w: Window): string {
  const names = (list: string[]) => (list.length === 0 ? "all" : list.join(", "));
  return `services ${names(w.services)} · environments ${names(w.environments)}`;
}

// "0 2 * * SUN for 2h (Europe/Berlin)", or the one-off ranges.
export function when(w: Window): string {
  const parts: string[] = [];
  if (w.schedule) {
    const d = w.duration ? Number(w.duration.seconds) : 0;
    parts.push(`${w.schedule} for ${span(d)} (${w.timeZone || "UTC"})`);
  }
  for (const r of w.ranges) parts.push(`${clock(r.start)} – ${clock(r.end)}`);
  return parts.join("; ");
}

// "open now, until 04:00 (1h 12m left)" / "07/03/2027, 02:00:00 (in 3d 16h)" / "never again".
export function nextOpening(w: Window, now: number): string {
  const end = date(w.current?.end);
  if (w.current && end) return `open now, until ${clock(w.current.end)} (${span((end.getTime() - now) / 1000)} left)`;
  const start = date(w.next?.start);
  if (w.next && start) return `${clock(w.next.start)} (in ${span((start.getTime() - now) / 1000)})`;
  return "never again";
}

export function checklistStateName(s: ChecklistItemState_State): string {
  return ChecklistItemState_State[s] ?? "UNKNOWN";
}

export function checklistTone(s: ChecklistItemState_State): Tone {
  switch (s) {
    case ChecklistItemState_State.PASS: return "ok";
    case ChecklistItemState_State.FAIL: return "bad";
    case ChecklistItemState_State.MANUAL: return "warn";
    default: return "muted";
  }
}

// What a row of the checklist says beside its state: the reason, or who ticked it and when.
export function checklistDetail(i: ChecklistItemState): string {
  const parts: string[] = [];
  if (i.reason) parts.push(i.reason);
  // The service's reason for a ticked item usually says who ticked it already.
  if (i.tickedBy && !i.reason.includes(i.tickedBy)) parts.push(`ticked by ${i.tickedBy} at ${clock(i.tickedAt)}`);
  if (parts.length === 0 && i.state === ChecklistItemState_State.MANUAL) parts.push("waits for a tick");
  if (parts.length === 0 && i.state === ChecklistItemState_State.PENDING) parts.push("judged at the first release");
  return parts.join(" · ");
}

// "BACKUP_VERIFIED", "MANUAL": the check an item runs.
export function checkName(i: ChecklistItemState): string {
  return ChecklistItem_Check[i.item?.check ?? ChecklistItem_Check.CHECK_UNSPECIFIED] ?? "UNKNOWN";
}

// Items a person ticks (the service says which checks it cannot judge itself).
export function tickable(i: ChecklistItemState): boolean {
  const c = i.item?.check;
  return c === ChecklistItem_Check.MANUAL || c === ChecklistItem_Check.ONCALL_COVERAGE ||
         c === ChecklistItem_Check.STAKEHOLDER_NOTICE;
}

export function smokeTone(s: WindowSmokeResult | undefined): Tone {
  switch (s?.state) {
    case "PASSED": return "ok";
    case "FAILED": case "NOT_STARTED": return "bad";
    case "RUNNING": return "info";
    default: return "muted";
  }
}

// "PASSED after the opening that closed 07/03/2027, 04:00:00"
export function smokeLine(s: WindowSmokeResult | undefined): string {
  if (!s) return "no run yet";
  return `${s.state} after the opening that closed ${clock(s.occurrence?.end)}`;
}

export interface BakeView {
  baking: boolean;
  // "4m 10s left, until 07/03/2027, 02:15:00" while baking; "baked until ..." after.
  text: string;
  // The analysis's last verdict over the fleet (PASS, FAIL, INCONCLUSIVE), when there is one.
  verdict?: string;
}

// A release's bake after promotion; undefined when it has none.
export function bakeView(r: Release, now: number): BakeView | undefined {
  const until = date(r.bakeUntil);
  if (!until) return undefined;
  if (r.state === Release_State.BAKING) {
    const left = (until.getTime() - now) / 1000;
    return { baking: true, text: `${left > 0 ? span(left) : "0s"} left, until ${clock(r.bakeUntil)}`,
             verdict: lastVerdict(r) };
  }
  const text = r.state === Release_State.SUCCEEDED ? `baked until ${clock(r.bakeUntil)}`
                                                   : `the bake was to end at ${clock(r.bakeUntil)}`;
  return { baking: false, text, verdict: lastVerdict(r) };
}
