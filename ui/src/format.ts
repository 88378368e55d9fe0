// Formatting of times, durations and numbers for the pages.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { Duration } from "@bufbuild/protobuf/wkt";

export function date(ts: Timestamp | undefined): Date | undefined {
  return ts && (ts.seconds !== 0n || ts.nanos !== 0) ? timestampDate(ts) : undefined;
}

export function seconds(d: Duration | undefined): number | undefined {
  return d ? Number(d.seconds) + d.nanos / 1e9 : undefined;
}

// "3m 12s", "2h 5m", "4d 1h": a span of seconds, coarse on purpose.
export function span(totalSeconds: number): string {
  const s = Math.max(0, Math.round(Math.abs(totalSeconds)));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function ago(ts: Timestamp | undefined, now: number): string {
  const d = date(ts);
  return d ? `${span((now - d.getTime()) / 1000)} ago` : "—";
}

export function clock(ts: Timestamp | undefined): string {
  const d = date(ts);
  return d ? d.toLocaleString(undefined, { hour12: false }) : "—";
}

export function percent(x: number | undefined, digits = 2): string {
  return x === undefined || Number.isNaN(x) ? "—" : `${(x * 100).toFixed(digits)}%`;
}

export function shortSha(sha: string): string {
  return sha.slice(0, 8);
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}
