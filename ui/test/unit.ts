// Unit checks of the dashboard's own logic that needs no server: the grpc-web-text adapter
// (chunks split anywhere, padding inside the stream), the role ladder, and how windows,
// checklists and a release's bake read.
// Usage: node unit.mjs. Exits non-zero on the first failure.
import { grpcWebTextFetch, roleAllows, may } from "../src/api";
import { Token_Role } from "../src/gen/flightdeck/v1/gateway_pb";
import { check } from "./common";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  ChecklistItem_Check, ChecklistItemSchema, ChecklistItemStateSchema, ChecklistItemState_State, ReleaseSchema,
  Release_State, TimeRangeSchema, WindowSchema, WindowSmokeResultSchema, Window_Kind,
} from "../src/gen/flightdeck/v1/releases_pb";
import {
  bakeView, checkName, checklistDetail, checklistStateName, checklistTone, coverage, nextOpening, smokeTone, tickable,
  windowKind, windowKindTone,
} from "../src/windows";
import { releaseActions } from "../src/states";

function b64(bytes: number[]): string {
  return Buffer.from(bytes).toString("base64");
}

async function textAnswer(chunks: string[]): Promise<{ bytes: number[]; type: string; sentType: string; sentBody: string }> {
  let sentType = "";
  let sentBody = "";
  const fake: typeof fetch = async (_input, init) => {
    sentType = new Headers(init?.headers).get("content-type") ?? "";
    sentBody = String(init?.body);
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(enc.encode(ch));
        c.close();
      },
    });
    return new Response(body, { headers: { "content-type": "application/grpc-web-text+proto" } });
  };
  const res = await grpcWebTextFetch(fake)("http://x/flightdeck.v1.S/M", {
    method: "POST", headers: { "content-type": "application/grpc-web+proto" }, body: new Uint8Array([0, 0, 0, 0, 1, 7]),
  });
  return { bytes: [...new Uint8Array(await res.arrayBuffer())], type: res.headers.get("content-type") ?? "",
           sentType, sentBody };
}

async function main(): Promise<void> {
  // Two frames encoded one by one (each with its own padding), delivered in odd pieces.
  const frame1 = [0, 0, 0, 0, 2, 8, 1];
  const frame2 = [0x80, 0, 0, 0, 13, ...new TextEncoder().encode("grpc-status:0")];
  const wire = b64(frame1) + b64(frame2);
  check(wire.includes("="), "the test data should have padding inside the stream");
  for (const splits of [[wire], [wire.slice(0, 3), wire.slice(3, 7), wire.slice(7)],
                        wire.split(""), [wire.slice(0, 11), wire.slice(11) + "\r\n"]]) {
    const got = await textAnswer(splits);
    check(JSON.stringify(got.bytes) === JSON.stringify([...frame1, ...frame2]),
          `decoded ${JSON.stringify(got.bytes)} from pieces ${JSON.stringify(splits)}`);
    check(got.type === "application/grpc-web+proto", `answer type ${got.type}`);
    check(got.sentType === "application/grpc-web-text", `request type ${got.sentType}`);
    check(got.sentBody === b64([0, 0, 0, 0, 1, 7]), `request body ${got.sentBody}`);
  }
  let truncated = false;
  try {
    await textAnswer([wire.slice(0, wire.length - 2)]);
  } catch {
    truncated = true;
  }
  check(truncated, "an answer ending inside a base64 group is an error");

  check(roleAllows(Token_Role.ADMIN, Token_Role.DEPLOYER) && !roleAllows(Token_Role.VIEWER, Token_Role.DEPLOYER),
        "role ladder");
  check(!may.driveReleases(Token_Role.INGEST) && !may.operate(Token_Role.DEPLOYER) && may.operate(Token_Role.OPERATOR),
        "INGEST drives nothing; DEPLOYER does not operate; OPERATOR does");
  check(may.driveReleases(Token_Role.OPERATOR) && !may.administer(Token_Role.OPERATOR), "OPERATOR drives releases, is no admin");
  windowChecks();
  console.log("unit: all checks passed");
}

// The Windows page and the release page's bake, from protos and a fixed "now".
function windowChecks(): void {
  const now = Date.UTC(2027, 2, 7, 1, 0, 0);  // Sunday 01:00 UTC
  const hour = 3600_000;
  const range = (fromMs: number, toMs: number) =>
    create(TimeRangeSchema, { start: timestampFromMs(fromMs), end: timestampFromMs(toMs) });
  const closed = create(WindowSchema, {
    name: "db-maintenance", kind: Window_Kind.MAINTENANCE, environments: ["production", "staging"],
    next: range(now + hour, now + 3 * hour),
  });
  check(coverage(closed) === "services all · environments production, staging", `coverage: ${coverage(closed)}`);
  check(windowKind(closed.kind) === "MAINTENANCE" && windowKindTone(closed.kind) === "info", "maintenance kind");
  check(windowKindTone(Window_Kind.FREEZE) === "warn", "a freeze is a warning");
  check(nextOpening(closed, now).endsWith("(in 1h 0m)"), `next opening: ${nextOpening(closed, now)}`);
  const open = create(WindowSchema, { ...closed, current: range(now - hour, now + 30 * 60_000) });
  check(nextOpening(open, now).startsWith("open now, until ") && nextOpening(open, now).endsWith("(30m 0s left)"),
        `open window: ${nextOpening(open, now)}`);
  check(nextOpening(create(WindowSchema, { name: "past" }), now) === "never again", "a window that never opens");

  const item = (kind: ChecklistItem_Check, state: ChecklistItemState_State, extra: Record<string, unknown> = {}) =>
    create(ChecklistItemStateSchema, { item: create(ChecklistItemSchema, { name: "x", check: kind, required: true }),
                                       state, ...extra });
  const stale = item(ChecklistItem_Check.BACKUP_VERIFIED, ChecklistItemState_State.FAIL,
                     { reason: "no verified backup of orders-db" });
  check(checklistStateName(stale.state) === "FAIL" && checklistTone(stale.state) === "bad", "FAIL is bad");
  check(checklistDetail(stale) === "no verified backup of orders-db", `FAIL detail: ${checklistDetail(stale)}`);
  check(checkName(stale) === "BACKUP_VERIFIED", `check name ${checkName(stale)}`);
  check(!tickable(stale), "the service judges backups itself: no tick");
  const manual = item(ChecklistItem_Check.ONCALL_COVERAGE, ChecklistItemState_State.MANUAL);
  check(tickable(manual) && checklistTone(manual.state) === "warn", "on-call coverage is ticked by a person");
  check(checklistDetail(manual) === "waits for a tick", `MANUAL detail: ${checklistDetail(manual)}`);
  const ticked = item(ChecklistItem_Check.MANUAL, ChecklistItemState_State.PASS,
                      { tickedBy: "alice", tickedAt: timestampFromMs(now) });
  check(checklistDetail(ticked).startsWith("ticked by alice at "), `ticked detail: ${checklistDetail(ticked)}`);
  const explained = item(ChecklistItem_Check.MANUAL, ChecklistItemState_State.PASS,
                         { tickedBy: "alice", reason: "ticked by alice at 2027-03-05T10:00:00Z" });
  check(checklistDetail(explained) === "ticked by alice at 2027-03-05T10:00:00Z", `no repeat: ${checklistDetail(explained)}`);
  const pending = item(ChecklistItem_Check.STAGING_SUCCEEDED, ChecklistItemState_State.PENDING);
  check(checklistTone(pending.state) === "muted" && checklistDetail(pending) === "judged at the first release",
        `PENDING: ${checklistDetail(pending)}`);
  check(smokeTone(create(WindowSmokeResultSchema, { state: "FAILED" })) === "bad" &&
        smokeTone(create(WindowSmokeResultSchema, { state: "NOT_STARTED" })) === "bad" &&
        smokeTone(create(WindowSmokeResultSchema, { state: "PASSED" })) === "ok" && smokeTone(undefined) === "muted",
        "smoke tones");

  const baking = create(ReleaseSchema, { state: Release_State.BAKING, bakeUntil: timestampFromMs(now + 4 * 60_000 + 10_000),
                                         lastAnalysisAt: timestampFromMs(now - 30_000) });
  const view = bakeView(baking, now);
  check(view?.baking === true && view.text.startsWith("4m 10s left, until ") && view.verdict === "PASS",
        `bake: ${JSON.stringify(view)}`);
  const failing = create(ReleaseSchema, { ...baking, failStreak: 1 });
  check(bakeView(failing, now)?.verdict === "FAIL", "a failing bake shows FAIL");
  check(bakeView(create(ReleaseSchema, { state: Release_State.CANARY }), now) === undefined, "no bake, no line");
  const done = create(ReleaseSchema, { ...baking, state: Release_State.SUCCEEDED });
  check(bakeView(done, now)?.text.startsWith("baked until ") === true, "after the bake");
  const actions = releaseActions(baking);
  check(actions.promote && actions.abort && !actions.rollback, "a baking release may be promoted (ends the bake) or aborted");
}

main().catch((e) => {
  console.error(`unit: FAILED: ${e instanceof Error ? e.stack ?? e.message : e}`);
  process.exit(1);
});
