// Live data: server streams that reconnect, polls, and a ticking clock.
import { useEffect, useRef, useState } from "preact/hooks";
import { Code, ConnectError } from "@connectrpc/connect";

export type StreamState = "connecting" | "live" | "ended" | "reconnecting";

// Runs `open({signal, onHeader})` (call options for the stream) and hands every message to `onMessage`. When the stream fails (the gateway
// restarted, the network dropped) it opens it again after a growing pause (1 s up to 15 s);
// `open` resumes from what it has seen. A stream that ends normally stays ended unless
// `reopenWhenEnded` says otherwise (watching all incidents never ends on purpose).
export function useStream<T>(
  deps: unknown[],
  open: (options: { signal: AbortSignal; onHeader: () => void }) => AsyncIterable<T>,
  onMessage: (m: T) => void,
  reopenWhenEnded = false,
): StreamState {
  const [state, setState] = useState<StreamState>("connecting");
  const handler = useRef(onMessage);
  handler.current = onMessage;
  useEffect(() => {
    const abort = new AbortController();
    let pause = 1000;
    void (async () => {
      while (!abort.signal.aborted) {
        try {
          setState("connecting");
          const onHeader = () => setState("live");
          // The gateway sends a stream's headers with its first message and answers refusals
          // at once (trailers-only): a stream quiet for 2 s without an error is open.
          const quiet = setTimeout(onHeader, 2000);
          abort.signal.addEventListener("abort", () => clearTimeout(quiet));
          try {
            for await (const m of open({ signal: abort.signal, onHeader })) {
              setState("live");
              pause = 1000;
              handler.current(m);
            }
          } finally {
            clearTimeout(quiet);
          }
          if (!reopenWhenEnded) {
            setState("ended");
            return;
          }
        } catch (e) {
          if (abort.signal.aborted) return;
          const err = ConnectError.from(e);
          // A refusal will not change by retrying.
          if ([Code.NotFound, Code.PermissionDenied, Code.Unauthenticated, Code.InvalidArgument].includes(err.code)) {
            setState("ended");
            return;
          }
        }
        setState("reconnecting");
        await sleep(pause, abort.signal);
        pause = Math.min(pause * 2, 15000);
      }
    })();
    return () => abort.abort();
  }, deps);
  return state;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export interface Loaded<T> {
  data?: T;
  error?: string;
  reload: () => void;
}

// Loads with `load` now, every `everyMs` and whenever reload() is called (coalesced: a reload
// asked while one runs runs once more after it).
export function usePoll<T>(deps: unknown[], load: () => Promise<T>, everyMs = 5000): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const trigger = useRef<() => void>(() => {});
  useEffect(() => {
    let stopped = false;
    let running = false;
    let again = false;
    const run = async () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      do {
        again = false;
        try {
          const d = await load();
          if (!stopped) {
            setData(d);
            setError(undefined);
          }
        } catch (e) {
          if (!stopped) setError(ConnectError.from(e).rawMessage);
        }
      } while (again && !stopped);
      running = false;
    };
    trigger.current = () => void run();
    void run();
    const t = setInterval(() => void run(), everyMs);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, deps);
  return { data, error, reload: () => trigger.current() };
}

// The current time, re-rendering every `everyMs` (countdowns, ages).
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

export function errorText(e: unknown): string {
  const err = ConnectError.from(e);
  return `${Code[err.code] ?? "ERROR"}: ${err.rawMessage}`;
}
