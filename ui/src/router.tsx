// A small history-API router: the app's pages live under /ui/.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

const base = "/ui";
const listeners = new Set<() => void>();

export function navigate(to: string): void {
  history.pushState(null, "", base + to);
  listeners.forEach((l) => l());
}

export function usePath(): string {
  const [path, setPath] = useState(current());
  useEffect(() => {
    const update = () => setPath(current());
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return path;
}

function current(): string {
  const p = location.pathname.startsWith(base) ? location.pathname.slice(base.length) : location.pathname;
  return p === "" ? "/" : p;
}

export function Link(props: { to: string; class?: string; children: ComponentChildren; "aria-current"?: "page" }) {
  return (
    <a href={base + props.to} class={props.class} aria-current={props["aria-current"]}
       onClick={(e) => {
         if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
         e.preventDefault();
         navigate(props.to);
       }}>
      {props.children}
    </a>
  );
}
