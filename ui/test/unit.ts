// Unit checks of the dashboard's own logic that needs no server: the grpc-web-text adapter
// (chunks split anywhere, padding inside the stream) and the role ladder.
// Usage: node unit.mjs. Exits non-zero on the first failure.
import { grpcWebTextFetch, roleAllows, may } from "../src/api";
import { Token_Role } from "../src/gen/flightdeck/v1/gateway_pb";
import { check } from "./common";

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
  console.log("unit: all checks passed");
}

main().catch((e) => {
  console.error(`unit: FAILED: ${e instanceof Error ? e.stack ?? e.message : e}`);
  process.exit(1);
});
