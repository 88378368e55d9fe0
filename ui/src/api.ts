// The generated clients over gRPC-web, shared by the dashboard and the Node tests.
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { GatewayService, Token_Role } from "./gen/flightdeck/v1/gateway_pb";
import { ReleaseService } from "./gen/flightdeck/v1/releases_pb";
import { IncidentService } from "./gen/flightdeck/v1/incidents_pb";
import { HealthService, SmokeService } from "./gen/flightdeck/v1/health_pb";
import { BackupService } from "./gen/flightdeck/v1/backups_pb";

export interface Clients {
  gateway: Client<typeof GatewayService>;
  releases: Client<typeof ReleaseService>;
  incidents: Client<typeof IncidentService>;
  health: Client<typeof HealthService>;
  smoke: Client<typeof SmokeService>;
  backups: Client<typeof BackupService>;
}

export interface TransportOptions {
  baseUrl: string;
  token: string;
  // Replaces fetch, e.g. to speak grpc-web-text (see test/interop.ts).
  fetch?: typeof globalThis.fetch;
  useBinaryFormat?: boolean;
}

export function bearer(token: string): Interceptor {
  return (next) => async (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}

export function makeTransport(o: TransportOptions): Transport {
  return createGrpcWebTransport({
    baseUrl: o.baseUrl,
    useBinaryFormat: o.useBinaryFormat ?? true,
    interceptors: [bearer(o.token)],
    fetch: o.fetch,
  });
}

export function makeClients(transport: Transport): Clients {
  return {
    gateway: createClient(GatewayService, transport),
    releases: createClient(ReleaseService, transport),
    incidents: createClient(IncidentService, transport),
    health: createClient(HealthService, transport),
    smoke: createClient(SmokeService, transport),
    backups: createClient(BackupService, transport),
  };
}

// The roles of common/api/methods.cc: viewers read, deployers drive releases, operators write
// everything else but tokens, admins do everything. INGEST is outside the ladder.
const ladder: Token_Role[] = [Token_Role.VIEWER, Token_Role.DEPLOYER, Token_Role.OPERATOR, Token_Role.ADMIN];

export function roleAllows(have: Token_Role, need: Token_Role): boolean {
  const h = ladder.indexOf(have);
  const n = ladder.indexOf(need);
  return h >= 0 && n >= 0 && h >= n;
}

export const may = {
  driveReleases: (r: Token_Role) => roleAllows(r, Token_Role.DEPLOYER),
  operate: (r: Token_Role) => roleAllows(r, Token_Role.OPERATOR),
  administer: (r: Token_Role) => roleAllows(r, Token_Role.ADMIN),
};

export function roleName(r: Token_Role): string {
  return Token_Role[r] ?? "UNKNOWN";
}

// grpc-web-text for clients that only speak binary gRPC-web (connect-web): the request body
// goes out base64-encoded, the answer's base64 chunks are decoded as they arrive (each chunk
// is a whole number of 4-character groups, so decoding group by group is exact).
export function grpcWebTextFetch(inner: typeof globalThis.fetch = globalThis.fetch): typeof globalThis.fetch {
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    headers.set("content-type", "application/grpc-web-text");
    let body = init?.body;
    if (body instanceof Uint8Array) body = toBase64(body);
    const res = await inner(input, { ...init, headers, body });
    const type = res.headers.get("content-type") ?? "";
    if (!type.startsWith("application/grpc-web-text") || res.body === null) return res;
    const outHeaders = new Headers(res.headers);
    outHeaders.set("content-type", "application/grpc-web+proto");
    let pending = "";
    const decoder = new TextDecoder();
    const decoded = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          pending += decoder.decode(chunk, { stream: true }).replace(/\s+/g, "");
          const whole = pending.length - (pending.length % 4);
          if (whole > 0) {
            controller.enqueue(fromBase64Groups(pending.slice(0, whole)));
            pending = pending.slice(whole);
          }
        },
        flush(controller) {
          if (pending.length > 0) controller.error(new Error("grpc-web-text answer ends inside a base64 group"));
        },
      }),
    );
    return new Response(decoded, { status: res.status, statusText: res.statusText, headers: outHeaders });
  };
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

// Decodes base64 that may hold padding inside (chunks encoded one by one).
function fromBase64Groups(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i += 4) {
    const raw = atob(text.slice(i, i + 4));
    for (let j = 0; j < raw.length; j++) out.push(raw.charCodeAt(j));
  }
  return new Uint8Array(out);
}
