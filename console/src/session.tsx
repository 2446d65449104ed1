/** Who is signed in, and what they may do (the hub's own permission table, imported as is). */
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { allows, type Permission, type Scope } from "../../src/auth/permissions.ts";

export interface Session {
  readonly kind: "operator" | "api-key";
  readonly username?: string;
  readonly name?: string;
  readonly role?: "viewer" | "operator" | "admin";
  readonly scopes: readonly Scope[];
  readonly csrfToken: string | null;
  readonly expiresAt: number | null;
}

export interface SessionContext {
  readonly session: Session;
  can(permission: Permission): boolean;
  signOut(): Promise<void>;
}

export const SessionCtx = createContext<SessionContext | null>(null);

export function useSession(): SessionContext {
  const s = useContext(SessionCtx);
  if (!s) throw new Error("useSession outside the signed-in console");
  return s;
}

export const permits = (session: Session, permission: Permission) => allows(session.scopes, permission);
