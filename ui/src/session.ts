// The signed-in token: kept in sessionStorage (gone when the tab closes), never in a URL.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Clients } from "./api";
import type { Principal } from "./gen/flightdeck/v1/gateway_pb";

const key = "flightdeck.token";

export function storedToken(): string | null {
  return sessionStorage.getItem(key);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(key, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(key);
}

export interface Session {
  api: Clients;
  principal: Principal;
  // Raised by a page when a call failed because the token no longer works.
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a signed-in page");
  return s;
}
