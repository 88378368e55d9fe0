// Small shared pieces: badges, the reason dialog, action buttons with their errors.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { errorText, type StreamState } from "./live";

export function Badge(props: { tone: "ok" | "warn" | "bad" | "info" | "muted"; children: ComponentChildren; label?: string }) {
  return <span class={`badge ${props.tone}`} aria-label={props.label}>{props.children}</span>;
}

export function LiveIndicator(props: { state: StreamState }) {
  const text = { connecting: "connecting", live: "live", ended: "ended", reconnecting: "reconnecting…" }[props.state];
  const tone = props.state === "live" ? "ok" : props.state === "reconnecting" ? "warn" : "muted";
  return <span class={`live ${tone}`} role="status" data-stream={props.state}>{text}</span>;
}

export interface ReasonRequest {
  title: string;
  label: string;         // what the text is: "Reason", "Message"
  confirm: string;       // the button: "Approve"
  required: boolean;
  run: (text: string) => Promise<unknown>;
}

// A modal <dialog> asking for a reason; Escape or Cancel closes it, errors stay inside it.
export function ReasonDialog(props: { request: ReasonRequest | null; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [text, setText] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.request && !d.open) {
      setText("");
      setError(undefined);
      d.showModal();
    } else if (!props.request && d.open) {
      d.close();
    }
  }, [props.request]);
  const r = props.request;
  return (
    <dialog ref={ref} class="reason" onClose={props.onClose} aria-labelledby="reason-title">
      {r && (
        <form method="dialog" onSubmit={async (e) => {
          e.preventDefault();
          if (r.required && text.trim() === "") {
            setError(`${r.label} is required`);
            return;
          }
          setBusy(true);
          try {
            await r.run(text.trim());
            props.onClose();
          } catch (err) {
            setError(errorText(err));
          } finally {
            setBusy(false);
          }
        }}>
          <h2 id="reason-title">{r.title}</h2>
          <label for="reason-text">{r.label}{r.required ? "" : " (optional)"}</label>
          <textarea id="reason-text" rows={3} value={text} autofocus
                    onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
          {error && <p class="error" role="alert">{error}</p>}
          <div class="buttons">
            <button type="button" onClick={props.onClose}>Cancel</button>
            <button type="submit" class="primary" disabled={busy}>{r.confirm}</button>
          </div>
        </form>
      )}
    </dialog>
  );
}

export function ErrorLine(props: { error?: string }) {
  return props.error ? <p class="error" role="alert">{props.error}</p> : null;
}
