// The dashboard in a real browser: Debian's headless Chromium driven by playwright-core (no
// browser download: the system executable, CHROMIUM or /usr/bin/chromium). A missing browser
// is a failure, never a skip.
// Usage: node browser.cjs <gateway url> <admin token> <screenshot dir> <control url>
// (the control URL restarts the gateway: tests/ui/node_stack_test.cc)
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { check, createToken, fail, pushObservations, randomSha, rest, suffix, waitFor } from "./common";

const [baseUrl, adminToken, outDir, controlUrl] = process.argv.slice(2);
if (!baseUrl || !adminToken || !outDir || !controlUrl) {
  fail("usage: browser.cjs <gateway url> <admin token> <screenshot dir> <control url>");
}
const executable = process.env.CHROMIUM ?? "/usr/bin/chromium";

const consoleErrors: string[] = [];
// While the test has the gateway down on purpose, the browser reports the refused connections.
let gatewayDown = false;
const networkError = /Failed to load resource|net::ERR_/;
function consoleError(where: string, text: string): void {
  if (gatewayDown && networkError.test(text)) return;
  consoleErrors.push(`${where}: ${text}`);
}
let shot = 0;
let lastPage: Page | undefined;  // screenshotted as "failure" when a check fails

async function screenshot(page: Page, name: string): Promise<void> {
  shot += 1;
  const file = join(outDir, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent({ timeout: 1000 })) ?? "";
}

// Waits until the text of `selector` satisfies `ok` (the page changes by itself: no reloads).
async function waitText(page: Page, what: string, selector: string, ok: (t: string) => boolean, limitMs = 30_000): Promise<string> {
  return waitFor(what, limitMs, async () => {
    const t = await text(page, selector).catch(() => "");
    return ok(t) ? t : undefined;
  });
}

async function confirmDialog(page: Page, reason: string, button: string): Promise<void> {
  const dialog = page.locator("dialog.reason[open]");
  await dialog.waitFor({ timeout: 5000 });
  await dialog.getByLabel(/Reason|Message|Update|What fixed it/).fill(reason);
  await dialog.getByRole("button", { name: button }).click();
  await page.locator("dialog.reason[open]").waitFor({ state: "detached", timeout: 10_000 }).catch(async () => {
    await page.locator("dialog.reason[open]").waitFor({ state: "hidden", timeout: 5000 });
  });
}

async function main(): Promise<void> {
  if (!existsSync(executable)) fail(`no browser at ${executable}: scripts/deps installs Debian's chromium`);
  // This run's screenshots only.
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const s = suffix();
  const ci = await createToken(baseUrl, adminToken, `ci-${s}`, "DEPLOYER");
  const alice = await createToken(baseUrl, adminToken, `alice-${s}`, "OPERATOR");
  const ingest = await createToken(baseUrl, adminToken, `alerts-${s}`, "INGEST");
  const service = `shop-${s}`;
  const commit = randomSha();
  // Something for the Health and Backups pages: a probe of the gateway's own /healthz, and the
  // stack's database as a backup target.
  await rest(baseUrl, adminToken, "POST", "/v1/health/targets", {
    name: `gateway-${s}`, service, environment: "production", role: "liveness", kind: "HTTP",
    url: `${baseUrl}/healthz`, period: "1s", failure_threshold: 3 });
  const databaseUrl = process.env.FD_DATABASE_URL ?? fail("FD_DATABASE_URL is not set");
  const backupDir = mkdtempSync(join(tmpdir(), "fd-ui-backups-"));
  await rest(baseUrl, adminToken, "POST", "/v1/backup-targets", {
    name: `db-${s}`, database_url: databaseUrl, storage: { kind: "LOCAL", path: backupDir }, rpo_target: "3600s" });
  try {
    await drive(s, { ci, alice, ingest, service, commit });
  } finally {
    rmSync(backupDir, { recursive: true, force: true });
  }
}

async function drive(s: string, t: { ci: string; alice: string; ingest: string; service: string; commit: string }): Promise<void> {
  const { ci, alice, ingest, service, commit } = t;

  const browser = await chromium.launch({
    executablePath: executable,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    lastPage = page;
    page.on("console", (m) => {
      if (m.type() === "error") consoleError("console", m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
    page.setDefaultTimeout(15_000);

    // Sign in by pasting a token, with the keyboard.
    await page.goto(`${baseUrl}/ui/`);
    await page.getByLabel("API token").waitFor();
    await screenshot(page, "sign-in");
    await page.getByLabel("API token").fill(alice);
    await page.keyboard.press("Enter");
    const who = await waitText(page, "the principal in the header", "[data-testid=principal]", (t) => t.includes(`alice-${s}`));
    check(who.includes("OPERATOR"), `header shows "${who}", want the OPERATOR role`);
    check(!page.url().includes(alice), "the token leaked into the URL");
    check(await page.evaluate(() => sessionStorage.getItem("flightdeck.token")) === alice, "token not in sessionStorage");
    check(await page.evaluate(() => localStorage.length) === 0, "something was kept in localStorage");

    // A staging canary: weight and verdicts update while the pipeline pushes numbers over REST.
    const staging = await rest(baseUrl, ci, "POST", "/v1/releases", {
      service, environment: "staging", version: "v2.0.0", commit_sha: commit,
      canary: { steps: [{ weight: 50, duration: "120s" }], analysis: { interval: "1s", min_requests: 10, max_p99_latency_ms: 400 } },
    });
    await page.getByRole("link", { name: "Releases" }).click();
    await page.getByRole("link", { name: new RegExp(`${service} v2.0.0 → staging`) }).click();
    const stopPushing = pushObservations(baseUrl, ci, staging.id);
    try {
      await waitText(page, "the canary weight of 50%", "[data-testid=release-weight]", (t) => t === "50%");
      const first = Number((await waitText(page, "a first verdict", "[data-testid=verdict-count]", (t) => /^\d+ verdicts/.test(t))).split(" ")[0]);
      await waitText(page, "more verdicts arriving live", "[data-testid=verdict-count]",
                     (t) => Number(t.split(" ")[0]) >= first + 2 && t.includes("PASS"));
      check(await page.locator("[data-testid=canary-chart] rect.bar.pass").count() >= 3, "the chart shows fewer than 3 passing bars");
      await screenshot(page, "release-canary");
      // The gateway restarts (kill -9): the page's stream reconnects by itself and verdicts keep
      // arriving (only the stream brings verdicts), without a reload.
      const before = Number((await text(page, "[data-testid=verdict-count]")).split(" ")[0]);
      gatewayDown = true;
      const restarted = await fetch(`${controlUrl}/restart/gateway`, { method: "POST" });
      check(restarted.ok, `gateway restart: ${restarted.status} ${await restarted.text()}`);
      const after = await waitText(page, "verdicts again after the gateway restarted", "[data-testid=verdict-count]",
                                   (t) => Number(t.split(" ")[0]) >= before + 3, 40_000);
      console.log(`gateway restarted: the release page went on from ${before} to ${after}`);
      await waitText(page, "the stream live again", "[role=status][data-stream]", (t) => t === "live");
      gatewayDown = false;
      // Promote through the reason dialog; the timeline shows it without a reload.
      await page.getByRole("button", { name: "Promote" }).click();
      await confirmDialog(page, "numbers look good", "Promote");
    } finally {
      stopPushing();
    }
    await waitText(page, "VERIFYING after promote", "[data-testid=release-state]", (t) => t === "VERIFYING");
    await rest(baseUrl, ci, "POST", `/v1/releases/${staging.id}/verification`, { passed: true, details: "smoke ok" });
    await waitText(page, "SUCCEEDED", "[data-testid=release-state]", (t) => t === "SUCCEEDED");
    await waitText(page, "the promotion in the timeline", "[data-testid=timeline]", (t) => t.includes("numbers look good"));
    await screenshot(page, "release-succeeded");

    // Production needs an approval from someone other than its creator (ci): alice approves.
    const production = await rest(baseUrl, ci, "POST", "/v1/releases", {
      service, environment: "production", version: "v2.0.0", commit_sha: commit,
      canary: { steps: [{ weight: 10, duration: "600s" }], analysis: { interval: "1s", min_requests: 10 } },
    });
    await page.getByRole("link", { name: "Overview" }).click();
    const row = `tr[data-service="${service}"][data-environment="production"]`;
    await waitText(page, "the production release in flight", `${row} [data-testid=in-flight]`, (t) => t.includes("AWAITING_APPROVAL"));
    await screenshot(page, "overview-awaiting-approval");
    await page.locator(`${row} [data-testid=in-flight] a`).first().click();
    await waitText(page, "AWAITING_APPROVAL", "[data-testid=release-state]", (t) => t === "AWAITING_APPROVAL");
    await page.getByRole("button", { name: "Approve" }).click();
    await confirmDialog(page, "change ticket 42", "Approve");
    await waitText(page, "the approval", "[data-testid=approved-by]", (t) => t.includes(`alice-${s}`));
    await waitText(page, "CANARY after approval", "[data-testid=release-state]", (t) => t === "CANARY");
    const approved = await rest(baseUrl, ci, "GET", `/v1/releases/${production.id}`);
    check(approved.approved_by === `alice-${s}`, `approved_by is ${approved.approved_by}`);
    await screenshot(page, "release-approved");

    // A new incident appears on the overview by itself; alice acknowledges it.
    await page.getByRole("link", { name: "Overview" }).click();
    await waitText(page, "the production row", `${row} [data-testid=in-flight]`, (t) => t.includes("CANARY"));
    await rest(baseUrl, ingest, "POST", "/v1/alerts", { alerts: [{ status: "firing",
      labels: { alertname: "HighErrorRate", service, environment: "production", severity: "critical" },
      annotations: { summary: "5% of checkout requests fail" } }] });
    const chip = page.locator(`${row} a.chip`);
    await chip.first().waitFor({ timeout: 30_000 });
    const chipText = (await chip.first().textContent()) ?? "";
    check(/SEV\d/.test(chipText) && chipText.includes("ack in"), `incident chip reads "${chipText}"`);
    await screenshot(page, "overview-incident");
    await chip.first().click();
    await waitText(page, "TRIGGERED", "[data-testid=incident-state]", (t) => t === "TRIGGERED");
    await page.getByRole("button", { name: "Acknowledge" }).click();
    await confirmDialog(page, "looking at it", "Acknowledge");
    await waitText(page, "ACKNOWLEDGED", "[data-testid=incident-state]", (t) => t === "ACKNOWLEDGED");
    await waitText(page, "the acknowledgement in the timeline", "[data-testid=incident-timeline]", (t) => t.includes("ACKNOWLEDGED"));
    await screenshot(page, "incident-acknowledged");
    // Resolve it, then its follow-up: an action item (added, then done) and the review.
    await page.getByRole("button", { name: "Resolve" }).click();
    await confirmDialog(page, "bad config reverted", "Resolve");
    await waitText(page, "RESOLVED", "[data-testid=incident-state]", (x) => x === "RESOLVED");
    await page.getByLabel("New action").fill("alert on config drift");
    await page.getByLabel("Owner").fill(`alice-${s}`);
    await page.getByRole("button", { name: "Add", exact: true }).click();
    const item = page.locator(".action-items li", { hasText: "alert on config drift" });
    await item.waitFor();
    await item.getByRole("button", { name: /Mark .* done/ }).click();
    await waitFor("the action item done", 15_000, async () =>
      (await item.textContent())?.includes("done") ? true : undefined);
    await page.getByLabel("Summary").fill("a bad config raised the error rate");
    await page.getByLabel("Root cause").fill("config pushed without a canary");
    await page.getByRole("button", { name: "Submit review" }).click();
    await waitText(page, "the review", "section[aria-labelledby=review-title]", (x) => x.includes("config pushed without a canary"));
    await screenshot(page, "incident-reviewed");

    // Back up now from the Backups page; the row shows the backup once it is done.
    await page.getByRole("link", { name: "Backups", exact: true }).click();
    const backupRow = page.locator("tr", { has: page.getByRole("rowheader", { name: `db-${s}` }) });
    check((await backupRow.textContent())?.includes("never"), "the new backup target has a last backup");
    await backupRow.getByRole("button", { name: "Back up now" }).click();
    await page.getByRole("status").filter({ hasText: `backup of db-${s}` }).waitFor();
    await waitFor("the backup on the Backups page", 60_000, async () =>
      (await backupRow.textContent())?.includes("ago") ? true : undefined);
    await screenshot(page, "backups");
    // The probe of the gateway is on the Health page.
    await page.getByRole("link", { name: "Health", exact: true }).click();
    await waitText(page, "the probe target healthy", `tr:has-text("gateway-${s}")`, (x) => x.includes("HEALTHY"));
    await screenshot(page, "health");

    // A window's checklist: alice (OPERATOR) ticks the on-call item and the verdict passes.
    // It opens daily twelve hours from now (UTC) for two hours: never open while the test runs,
    // so its page shows the next opening. A fixed "0 2 * * SUN" was open on Sunday nights.
    const upkeep = `upkeep-${s}`;
    const opensAt = (new Date().getUTCHours() + 12) % 24;
    await rest(baseUrl, adminToken, "POST", "/v1/windows", {
      name: upkeep, kind: "MAINTENANCE", schedule: `0 ${opensAt} * * *`, duration: "7200s", environments: [upkeep],
      checklist: [{ name: "on-call", check: "ONCALL_COVERAGE", required: true }] });
    await page.getByRole("link", { name: "Windows", exact: true }).click();
    await waitText(page, "the window's next opening", `[data-testid=next-${upkeep}]`, (x) => x.includes("(in "));
    await screenshot(page, "windows");
    await page.getByRole("link", { name: upkeep, exact: true }).click();
    await waitText(page, "the checklist waiting for a tick", "[data-testid=checklist-verdict]", (x) => x === "PENDING");
    const onCall = page.locator("tr", { has: page.getByRole("rowheader", { name: "on-call" }) });
    await onCall.getByRole("button", { name: "Tick" }).click();
    await page.getByLabel("Note").fill("rota set");
    await page.locator("dialog").getByRole("button", { name: "Tick" }).click();
    await waitText(page, "the ticked checklist", "[data-testid=checklist-verdict]", (x) => x === "PASS");
    check((await onCall.textContent())?.includes(`ticked by alice-${s}`), "the tick names who ticked");
    await screenshot(page, "window-checklist");

    // Every other page, once.
    for (const [name, heading] of [["Incidents", "Incidents"], ["Releases", "Releases"]] as const) {
      await page.getByRole("link", { name, exact: true }).click();
      await page.getByRole("heading", { level: 1, name: heading }).waitFor();
      await page.waitForLoadState("networkidle").catch(() => {});
      await screenshot(page, name.toLowerCase());
    }
    // Phone width.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("link", { name: "Overview" }).click();
    await page.locator(row).waitFor();
    await screenshot(page, "overview-phone");

    // An admin sees the audit log; alice (OPERATOR) is not offered it.
    check(await page.getByRole("link", { name: "Audit" }).count() === 0, "the Audit page is offered to an OPERATOR");
    const adminPage = await context.newPage();
    lastPage = adminPage;
    adminPage.on("console", (m) => {
      if (m.type() === "error") consoleError("console (admin)", m.text());
    });
    await adminPage.goto(`${baseUrl}/ui/`);
    await adminPage.getByLabel("API token").fill(adminToken);
    await adminPage.getByRole("button", { name: "Sign in" }).click();
    await adminPage.getByRole("link", { name: "Audit" }).click();
    await waitText(adminPage, "the approval in the audit log", "table", (t) => t.includes("ApproveRelease"));
    await screenshot(adminPage, "audit");

    // A viewer is offered no release actions.
    const viewer = await createToken(baseUrl, adminToken, `viewer-${s}`, "VIEWER");
    const viewerPage = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    lastPage = viewerPage;
    viewerPage.on("console", (m) => {
      if (m.type() === "error") consoleError("console (viewer)", m.text());
    });
    await viewerPage.goto(`${baseUrl}/ui/releases/${production.id}`);
    await viewerPage.getByLabel("API token").fill(viewer);
    await viewerPage.keyboard.press("Enter");
    // (The critical incident may have rolled this correlated deploy back meanwhile: any state will do.)
    await waitText(viewerPage, "the release as a viewer", "[data-testid=release-state]", (t) => t !== "");
    await viewerPage.getByText("Your role may look, not act").waitFor();
    check(await viewerPage.getByRole("button", { name: /Approve|Promote|Abort|Roll back/ }).count() === 0,
          "a VIEWER is offered release actions");
    await screenshot(viewerPage, "release-viewer");
  } catch (e) {
    if (lastPage) {
      await screenshot(lastPage, "failure").catch(() => {});
      console.error(`page at failure: ${lastPage.url()}\n${await lastPage.locator("main").innerText().catch(() => "")}`);
      console.error(`GET /v1/services: ${await fetch(`${baseUrl}/v1/services`, { headers: { authorization: `Bearer ${adminToken}` } })
        .then((r) => r.text()).catch((err) => String(err))}`);
    }
    throw e;
  } finally {
    await browser.close();
  }
  if (consoleErrors.length) fail(`the browser logged errors:\n${consoleErrors.join("\n")}`);
}

const overall = setTimeout(() => {
  console.error("browser: gave up after 170 s");
  process.exit(2);
}, 170_000);
main().then(() => {
  clearTimeout(overall);
  console.log(`browser: all checks passed (${shot} screenshots in ${outDir})`);
}, (e) => {
  console.error(`browser: FAILED: ${e instanceof Error ? e.stack ?? e.message : e}`);
  for (const c of consoleErrors) console.error(c);
  process.exit(1);
});
