/**
 * The `tillbridge` command: start, migrate, api-key create|list|revoke, account create|list, emulator.
 */
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { createAccount, listAccounts } from "../auth/accounts.ts";
import { createApiKey, listApiKeys, revokeApiKey } from "../auth/api-keys.ts";
import { recordAudit } from "../auth/audit.ts";
import { parseScopes, ROLES, type Role, SCOPE_DESCRIPTIONS, SCOPES } from "../auth/permissions.ts";
import { ConfigError, loadConfig } from "../config/config.ts";
import { openDatabase } from "../db/database.ts";
import { migrateToLatest } from "../db/migrate.ts";
import { startHub } from "../runtime/hub.ts";

const USAGE = `Usage: tillbridge <command>

Commands:
  start                         run the HTTP server and the background workers
  migrate                       apply pending database migrations and exit
  api-key create --name NAME --scope S[,S]
                                create a back-office API key (printed once); scopes:
                                stock, orders, read, operate, admin
  api-key list                  list keys (never the keys themselves)
  api-key revoke --id ID        revoke a key
  account create --username NAME --role viewer|operator|admin
                                create a console account; the password is read from
                                TILLBRIDGE_PASSWORD or the first line of standard input
  account list                  list console accounts
  emulator [--port N] [--demo]  run the Shopify emulator on its own

Configuration comes from environment variables; see the README.`;

async function withDatabase<T>(fn: (db: ReturnType<typeof openDatabase>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = openDatabase(config.database);
  try {
    await migrateToLatest(database);
    return await fn(database);
  } finally {
    await database.close();
  }
}

/** The password never goes on the command line (where `ps` and shell history would show it). */
async function firstLineOfStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("password (input is shown; prefer TILLBRIDGE_PASSWORD): ");
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return "";
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start": {
      let env: Record<string, string | undefined> = process.env;
      let demo: import("../demo/demo.ts").DemoEmulator | undefined;
      const base = loadConfig(env);
      let demoWatch: { stop(): void } | undefined;
      if (base.demo) {
        const { realStoreConnected, startDemoEmulator, switchOffDemo } = await import("../demo/demo.ts");
        // The demo never runs beside a real store: once one is connected it stays off.
        const real = await withDatabase(async (db) => {
          const domain = await realStoreConnected(db);
          if (domain) await switchOffDemo(db, Date.now());
          return domain;
        });
        if (real) {
          console.log(
            `Demo off: store ${real} is connected (the demo's key is revoked). Set DEMO=off to silence this.`,
          );
        } else {
          demo = await startDemoEmulator(base.demoEmulatorPort);
          env = { ...env, ...demo.env };
        }
      }
      const hub = await startHub(loadConfig(env));
      if (demo) {
        const { connectDemoStore, demoInstructions, watchForRealStore } = await import("../demo/demo.ts");
        const { apiKey } = await connectDemoStore(hub, demo);
        demoWatch = watchForRealStore(hub, demo);
        console.log(demoInstructions(hub, demo, apiKey));
      }
      const stop = async (signal: string) => {
        hub.ctx.logger.info({ signal }, "stopping");
        // A stop finishes within 5 s whatever is in progress (passes give up after 3 s, leases
        // are released then); the last 1.5 s are margin for a loaded machine to end the process.
        setTimeout(() => process.exit(0), 3500).unref();
        demoWatch?.stop();
        await hub.stop();
        await demo?.emulator.close().catch(() => {});
        process.exit(0);
      };
      process.once("SIGINT", () => void stop("SIGINT"));
      process.once("SIGTERM", () => void stop("SIGTERM"));
      return -1; // keep running
    }
    case "migrate": {
      const applied = await withDatabase((db) => migrateToLatest(db));
      console.log(applied.length ? `applied: ${applied.join(", ")}` : "database is up to date");
      return 0;
    }
    case "api-key": {
      const [sub, ...args] = rest;
      const { values } = parseArgs({
        args,
        options: { name: { type: "string" }, id: { type: "string" }, scope: { type: "string" } },
      });
      if (sub === "create") {
        if (!values.name) {
          console.error("api-key create needs --name NAME (who or what uses the key)");
          return 2;
        }
        const scopes = parseScopes(values.scope ?? "");
        if (!scopes.ok) {
          console.error(
            `api-key create needs --scope with one or more of (comma-separated):\n${SCOPES.map((s) => `  ${s.padEnd(8)} ${SCOPE_DESCRIPTIONS[s]}`).join("\n")}${scopes.unknown.length ? `\nunknown: ${scopes.unknown.join(", ")}` : ""}`,
          );
          return 2;
        }
        const { id, key } = await withDatabase((db) =>
          createApiKey(db, values.name!, Date.now(), scopes.scopes),
        );
        console.log(
          `API key ${id} (${values.name}, scopes ${scopes.scopes.join(",")}) — shown once, store it now:\n${key}`,
        );
        return 0;
      }
      if (sub === "list") {
        const keys = await withDatabase((db) => listApiKeys(db));
        for (const k of keys) {
          console.log(
            `${k.id}\t${k.prefix}…\t${k.name}\t${k.scopes}\t${new Date(k.created_at).toISOString()}\t${k.last_used_at ? `used ${new Date(k.last_used_at).toISOString()}` : "never used"}${k.revoked_at ? "\trevoked" : ""}`,
          );
        }
        return 0;
      }
      if (sub === "revoke") {
        const id = Number(values.id);
        if (!Number.isInteger(id)) {
          console.error("api-key revoke needs --id ID (see `tillbridge api-key list`)");
          return 2;
        }
        const done = await withDatabase((db) => revokeApiKey(db, id, Date.now()));
        console.log(done ? `key ${id} revoked` : `no active key with id ${id}`);
        return done ? 0 : 1;
      }
      console.error(USAGE);
      return 2;
    }
    case "account": {
      const [sub, ...args] = rest;
      const { values } = parseArgs({
        args,
        options: { username: { type: "string" }, role: { type: "string" } },
      });
      if (sub === "create") {
        const role = values.role as Role | undefined;
        if (!values.username || !role || !ROLES.includes(role)) {
          console.error(`account create needs --username NAME and --role ${ROLES.join("|")}`);
          return 2;
        }
        const password = process.env.TILLBRIDGE_PASSWORD ?? (await firstLineOfStdin());
        const account = await withDatabase(async (db) => {
          const now = Date.now();
          const created = await createAccount(
            db.db,
            { username: values.username!, password, role, createdBy: "cli" },
            now,
          );
          await recordAudit(
            db.db,
            {
              principal: null,
              storeId: null,
              action: "account.create",
              target: created.username,
              after: { role },
            },
            now,
          );
          return created;
        });
        console.log(
          `account ${account.id} (${account.username}, ${account.role}) created; sign in at /console/`,
        );
        return 0;
      }
      if (sub === "list") {
        for (const a of await withDatabase((db) => listAccounts(db.db))) {
          console.log(
            `${a.id}\t${a.username}\t${a.role}${a.disabledAt ? "\tdisabled" : ""}\t${a.lastSignInAt ? `signed in ${new Date(a.lastSignInAt).toISOString()}` : "never signed in"}`,
          );
        }
        return 0;
      }
      console.error(USAGE);
      return 2;
    }
    case "emulator": {
      // The emulator's own command line parses the remaining arguments.
      process.argv = [process.argv[0]!, "emulator", ...rest];
      await import("../../emulator/cli.ts");
      return -1;
    }
    case undefined:
    case "help":
    case "--help":
      console.log(USAGE);
      return 0;
    default:
      console.error(`unknown command ${command}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    if (err instanceof ConfigError) console.error(err.message);
    else console.error(`tillbridge: ${err?.code ? `${err.code}: ` : ""}${err?.message ?? err}`);
    process.exit(1);
  },
);
