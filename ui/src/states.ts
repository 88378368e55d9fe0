// Names and tones of the protos' enums, and which release actions each state allows (the
// releases service answers 409 for the others; we do not offer them).
import { Release_State, type Release } from "./gen/flightdeck/v1/releases_pb";
import { Incident_Severity, Incident_State } from "./gen/flightdeck/v1/incidents_pb";
import { HealthStatus } from "./gen/flightdeck/v1/health_pb";

export type Tone = "ok" | "warn" | "bad" | "info" | "muted";

export function releaseState(s: Release_State): string {
  return Release_State[s] ?? "UNKNOWN";
}

export function releaseTone(s: Release_State): Tone {
  switch (s) {
    case Release_State.SUCCEEDED: return "ok";
    case Release_State.FAILED: case Release_State.ROLLED_BACK: case Release_State.ROLLING_BACK: return "bad";
    case Release_State.ABORTED: return "muted";
    case Release_State.AWAITING_APPROVAL: return "warn";
    default: return "info";
  }
}

export const terminal = new Set([Release_State.SUCCEEDED, Release_State.FAILED, Release_State.ROLLED_BACK,
                                 Release_State.ABORTED]);

export function releaseActions(r: Release): { approve: boolean; promote: boolean; abort: boolean; rollback: boolean } {
  const s = r.state;
  return {
    approve: s === Release_State.AWAITING_APPROVAL,
    // Promoting a baking release ends its bake now (state_machine.cc allows both).
    promote: s === Release_State.CANARY || s === Release_State.BAKING,
    abort: [Release_State.PENDING, Release_State.AWAITING_APPROVAL, Release_State.CANARY, Release_State.PROMOTING,
            Release_State.VERIFYING, Release_State.BAKING].includes(s),
    rollback: s === Release_State.SUCCEEDED,
  };
}

// The last verdict of a release's analysis, from its streaks: a PASS resets both.
export function lastVerdict(r: Release): string | undefined {
  if (r.failStreak > 0) return "FAIL";
  if (r.inconclusiveStreak > 0) return "INCONCLUSIVE";
  if (r.lastAnalysisAt) return "PASS";
  return undefined;
}

export function verdictTone(v: string | undefined): Tone {
  return v === "PASS" ? "ok" : v === "FAIL" ? "bad" : v === "INCONCLUSIVE" ? "warn" : "muted";
}

export function severity(s: Incident_Severity): string {
  return Incident_Severity[s] ?? "SEV?";
}

export function severityTone(s: Incident_Severity): Tone {
  return s === Incident_Severity.SEV1 || s === Incident_Severity.SEV2 ? "bad" : s === Incident_Severity.SEV3 ? "warn" : "info";
}

export function incidentState(s: Incident_State): string {
  return Incident_State[s] ?? "UNKNOWN";
}

export function incidentTone(s: Incident_State): Tone {
  return s === Incident_State.TRIGGERED ? "bad" : s === Incident_State.ACKNOWLEDGED ? "warn" : "ok";
}

export function healthName(s: HealthStatus): string {
  return HealthStatus[s] ?? "UNKNOWN";
}

export function healthTone(s: HealthStatus): Tone {
  return s === HealthStatus.HEALTHY ? "ok" : s === HealthStatus.DEGRADED ? "warn" : s === HealthStatus.UNHEALTHY ? "bad" : "muted";
}
