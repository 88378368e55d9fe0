// Helpers shared by the Node tests: REST calls, waiting on conditions, names.
export function fail(message: string): never {
  throw new Error(message);
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

// Retries `probe` every `everyMs` until it returns a value (not undefined) or `limitMs` passes.
export async function waitFor<T>(what: string, limitMs: number, probe: () => Promise<T | undefined>,
                                 everyMs = 250): Promise<T> {
  const deadline = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) fail(`timed out after ${limitMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function suffix(): string {
  return Math.random().toString(16).slice(2, 8);
}

export function randomSha(): string {
  let s = "";
  for (let i = 0; i < 10; i++) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}

export async function rest(baseUrl: string, token: string, method: string, path: string,
                           body?: unknown): Promise<any> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) fail(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

export async function createToken(baseUrl: string, adminToken: string, name: string, role: string): Promise<string> {
  const t = await rest(baseUrl, adminToken, "POST", "/v1/tokens", { name, role });
  return t.secret as string;
}

// Pushes healthy canary numbers until stopped: the pipeline's part of a canary.
export function pushObservations(baseUrl: string, token: string, id: string,
                                 numbers = { requests: 500, errors: 5, p99_latency_ms: 120 }): () => void {
  let stopped = false;
  void (async () => {
    while (!stopped) {
      try {
        await rest(baseUrl, token, "POST", `/v1/releases/${id}/observations`, { ...numbers, window: "1s" });
      } catch {
        // The release may have left CANARY meanwhile: the loop ends when the test says so.
      }
      await sleep(400);
    }
  })();
  return () => {
    stopped = true;
  };
}
