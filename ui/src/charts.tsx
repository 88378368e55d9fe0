// Charts as inline SVG: no library, every shape from our numbers. Colours come from classes
// (style.css), so the strict CSP (no inline style) holds.

export interface Verdict {
  at?: Date;
  verdict: string;        // PASS | FAIL | INCONCLUSIVE
  step: number;
  weight: number;
  errorRate?: number;     // 0..1, absent without data
  p99?: number;           // ms
  maxErrorRate?: number;
  maxP99?: number;
  requests?: number;
}

const W = 560;
const H = 150;
const pad = { left: 52, right: 10, top: 12, bottom: 22 };

// One panel: a bar per analysis interval against a dashed threshold line.
function Panel(props: { title: string; values: (number | undefined)[]; verdicts: string[];
                        threshold?: number; format: (v: number) => string; id: string }) {
  const { values, verdicts, threshold } = props;
  const known = values.filter((v): v is number => v !== undefined);
  const top = Math.max(threshold ?? 0, ...known, 1e-9) * 1.15;
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  const slot = plotW / Math.max(values.length, 1);
  const y = (v: number) => pad.top + plotH - (v / top) * plotH;
  const summary = known.length
    ? `${props.title}: ${values.length} intervals, last ${known.length ? props.format(known[known.length - 1]) : "no data"}` +
      (threshold !== undefined ? `, threshold ${props.format(threshold)}` : "")
    : `${props.title}: no data yet`;
  return (
    <figure class="chart">
      <figcaption id={`${props.id}-title`}>{props.title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${props.id}-title ${props.id}-desc`}
           preserveAspectRatio="xMidYMid meet">
        <desc id={`${props.id}-desc`}>{summary}</desc>
        <line class="axis" x1={pad.left} y1={pad.top + plotH} x2={W - pad.right} y2={pad.top + plotH} />
        <line class="axis" x1={pad.left} y1={pad.top} x2={pad.left} y2={pad.top + plotH} />
        <text class="tick" x={pad.left - 6} y={pad.top + 4} text-anchor="end">{props.format(top)}</text>
        <text class="tick" x={pad.left - 6} y={pad.top + plotH} text-anchor="end">0</text>
        {values.map((v, i) => {
          const x = pad.left + i * slot + slot * 0.15;
          const w = Math.max(slot * 0.7, 1);
          const cls = `bar ${verdicts[i]?.toLowerCase() ?? ""}`;
          if (v === undefined) {
            return <rect key={i} class={`${cls} nodata`} x={x} y={pad.top + plotH - 4} width={w} height={4}>
              <title>interval {i + 1}: {verdicts[i]} (no data)</title></rect>;
          }
          const h = Math.max(pad.top + plotH - y(v), 1);
          return <rect key={i} class={cls} x={x} y={pad.top + plotH - h} width={w} height={h}>
            <title>interval {i + 1}: {verdicts[i]}, {props.format(v)}</title></rect>;
        })}
        {threshold !== undefined && (
          <g>
            <line class="threshold" x1={pad.left} x2={W - pad.right} y1={y(threshold)} y2={y(threshold)} />
            <text class="tick threshold-label" x={W - pad.right} y={y(threshold) - 3} text-anchor="end">
              max {props.format(threshold)}
            </text>
          </g>
        )}
        <text class="tick" x={pad.left} y={H - 6}>1</text>
        <text class="tick" x={W - pad.right} y={H - 6} text-anchor="end">{values.length || ""}</text>
      </svg>
    </figure>
  );
}

export function CanaryChart(props: { verdicts: Verdict[] }) {
  const v = props.verdicts;
  const last = v[v.length - 1];
  return (
    <div class="charts" data-testid="canary-chart" data-intervals={v.length}>
      <Panel id="err" title="Error rate per interval" values={v.map((x) => x.errorRate)}
             verdicts={v.map((x) => x.verdict)} threshold={last?.maxErrorRate}
             format={(x) => `${(x * 100).toFixed(x < 0.1 ? 2 : 1)}%`} />
      <Panel id="p99" title="p99 latency per interval" values={v.map((x) => x.p99)}
             verdicts={v.map((x) => x.verdict)} threshold={last?.maxP99}
             format={(x) => `${Math.round(x)} ms`} />
    </div>
  );
}

// The canary's traffic share as a bar (0..100).
export function WeightBar(props: { weight: number }) {
  const w = Math.max(0, Math.min(100, props.weight));
  return (
    <svg class="weight" viewBox="0 0 100 8" role="img" aria-label={`canary weight ${w}%`}
         preserveAspectRatio="none">
      <rect class="weight-bg" x="0" y="0" width="100" height="8" rx="2" />
      <rect class="weight-fg" x="0" y="0" width={w} height="8" rx="2" />
    </svg>
  );
}

// Latency of recent probes, oldest first; failed probes as red dots.
export function Sparkline(props: { points: { ms: number; ok: boolean }[]; label: string }) {
  const pts = props.points;
  if (pts.length === 0) return <span class="muted">no probes yet</span>;
  const w = 120, h = 28;
  const top = Math.max(...pts.map((p) => p.ms), 1);
  const x = (i: number) => (pts.length === 1 ? w / 2 : (i / (pts.length - 1)) * (w - 4) + 2);
  const y = (ms: number) => h - 3 - (ms / top) * (h - 6);
  const d = pts.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.ms).toFixed(1)}`).join(" ");
  return (
    <svg class="spark" viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={props.label}>
      <path d={d} class="spark-line" />
      {pts.map((p, i) => !p.ok && <circle key={i} cx={x(i)} cy={y(p.ms)} r="2.5" class="spark-fail" />)}
    </svg>
  );
}
