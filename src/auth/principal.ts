/** Who is making a request: a back-office system with an API key, or a signed-in operator. */
import type { Role, Scope } from "./permissions.ts";

export type Principal =
  | {
      readonly kind: "api-key";
      readonly keyId: number;
      readonly name: string;
      readonly scopes: readonly Scope[];
    }
  | {
      readonly kind: "operator";
      readonly accountId: number;
      readonly username: string;
      readonly role: Role;
      readonly scopes: readonly Scope[];
      readonly sessionId: string;
    };

/** How the audit trail and the activity log name the actor (never a secret). */
export const actorLabel = (p: Principal | null): string =>
  p === null ? "system" : p.kind === "api-key" ? `api-key:${p.name}` : `operator:${p.username}`;
