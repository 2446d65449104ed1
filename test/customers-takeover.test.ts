/**
 * The customer publish across real processes (issue 16): two `tillbridge start` processes on one
 * PostgreSQL database publish customers and companies to one emulated store through a proxy; the
 * store's owner is killed (-9) at an exact step: the moment it has sent its 4th `customerSet`,
 * which the proxy still delivers, so Shopify applies it and the hub never records it. The other
 * process takes the store over and finishes: every hub customer is one Shopify customer (the
 * customer Shopify created for the dead owner is found again by email, never created twice), each
 * company one Shopify company with one contact per customer, and every customer ends published.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { systemClock } from "../src/core/clock.ts";
import { customerDb } from "../src/customers/customer-store.ts";
import { companyExternalId } from "../src/customers/publish.ts";
import { openDatabase } from "../src/db/database.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { createTestDatabase, type TestDatabase } from "./support/databases.ts";
import { apiCaller, createAdminKey, exited, processEnv } from "./support/process-api.ts";
import { startHubProcess } from "./support/processes.ts";
import { emulatedStore } from "./support/shopify.ts";

const CUSTOMERS = 16;
const COMPANIES = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The kill: which customer's customerSet it landed on, and what Shopify answered to it. */
interface Killed {
  readonly pid: number;
  readonly email: string;
  readonly answer: Promise<{ status: number; text: string }>;
}

/**
 * Forwards the hubs' Admin API calls to the emulator; armed, it kills the process that sent the
 * n-th customerSet (told by the transport's User-Agent, `Tillbridge (pid N)`) as soon as the
 * request has arrived, and still delivers that request to the emulator.
 */
async function killingProxy(upstream: string) {
  let trap: { n: number; hit: (k: Killed) => void } | undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === "string" && !["host", "connection", "content-length"].includes(k)) headers[k] = v;
    const answer = fetch(`${upstream}${req.url}`, {
      method: req.method ?? "GET",
      headers,
      ...(req.method === "GET" || req.method === "HEAD" ? {} : { body }),
    }).then(async (a) => ({
      status: a.status,
      type: a.headers.get("content-type") ?? "",
      text: await a.text(),
    }));
    if (trap && req.method === "POST") {
      const sent = JSON.parse(body.toString("utf8")) as {
        query?: string;
        variables?: { input?: { email?: string } };
      };
      const pid = Number(/\(pid (\d+)\)/.exec(headers["user-agent"] ?? "")?.[1]);
      if (/^\s*mutation\b[^{]*\{\s*customerSet\(/.test(sent.query ?? "") && pid && --trap.n === 0) {
        const { hit } = trap;
        trap = undefined;
        process.kill(pid, "SIGKILL");
        hit({ pid, email: sent.variables?.input?.email ?? "", answer });
      }
    }
    const a = await answer.catch(() => undefined);
    if (!a || res.destroyed) return;
    try {
      res.writeHead(a.status, { "content-type": a.type });
      res.end(a.text);
    } catch {
      // the hub is gone
    }
  };
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Resolves once the n-th customerSet from now has been sent and its sender killed. */
    killOnCustomerSet: (n: number) => new Promise<Killed>((hit) => (trap = { n, hit })),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

let emulator: Emulator;
let proxy: Awaited<ReturnType<typeof killingProxy>>;
let test: TestDatabase;
beforeAll(async () => {
  emulator = await startEmulator();
  proxy = await killingProxy(emulator.url);
  test = await createTestDatabase("postgres");
});
afterAll(async () => {
  await proxy?.close();
  await emulator?.close();
  await test?.drop();
});

describe("customer publish on two processes", () => {
  it("kill -9 of the owner right after it sent a customerSet: each customer and company created once, nothing lost", async () => {
    const domain = `cust-fleet-${Date.now().toString(36)}.myshopify.com`;
    const store = await emulatedStore({ emulator, domain, skus: [] });
    const env = processEnv(test.target, proxy.url, 7);
    const call = apiCaller(createAdminKey(env, "cust-fleet"));
    const hubs = await Promise.all([0, 1].map(() => startHubProcess(env)));
    const database = openDatabase(test.target);
    try {
      const [a, b] = hubs as [(typeof hubs)[0], (typeof hubs)[0]];
      const customers = Array.from({ length: CUSTOMERS }, (_, i) => ({
        key: `T-${i}`,
        email: `t${i}@takeover.example`,
        firstName: `T${i}`,
        emailMarketing: { state: "subscribed", consentedAt: "2026-05-01T08:00:00Z" },
        // Every other customer is the contact of one of a few companies.
        ...(i % 2 === 0 ? { companyName: `Co ${i % COMPANIES}`, companyKey: `CO-${i % COMPANIES}` } : {}),
      }));
      await call(a, "PUT", "/api/v1/customers", { customers });
      await call(a, "POST", "/api/v1/stores", { domain, accessToken: store.token });
      // The owner dies the moment it has sent its 4th customerSet (a few customers are out).
      const kill = proxy.killOnCustomerSet(4);
      await call(a, "POST", `/api/v1/stores/${domain}/flows/customer_publish/enable`);
      const storeId = Number(
        (
          await database.db
            .selectFrom("stores")
            .select("id")
            .where("domain", "=", domain)
            .executeTakeFirstOrThrow()
        ).id,
      );
      const published = async () =>
        Number(
          (
            await customerDb(database.db)
              .selectFrom("customer_publish_state")
              .select((eb) => eb.fn.countAll<number>().as("n"))
              .where("store_id", "=", storeId)
              .where("status", "=", "published")
              .executeTakeFirstOrThrow()
          ).n,
        );
      const owner = async () => {
        const row = await database.db
          .selectFrom("store_leases")
          .select(["owner", "expires_at"])
          .where("store_id", "=", storeId)
          .where("expires_at", ">=", Date.now())
          .executeTakeFirst();
        return row ? Number(row.owner.split(":")[1]) : undefined;
      };
      const killed = await Promise.race([
        kill,
        sleep(30_000).then(() => {
          throw new Error("no 4th customerSet within 30 s");
        }),
      ]);
      const victim = hubs.find((h) => h.child.pid === killed.pid)!;
      expect(victim, `the killed pid ${killed.pid} is one of the hubs`).toBeDefined();
      const survivor = victim === a ? b : a;
      await exited(victim.child);
      // Shopify applied the customerSet the dead owner sent ...
      const answer = await killed.answer;
      expect(answer.status).toBe(200);
      const applied = (
        JSON.parse(answer.text) as { data: { customerSet: { customer: { id: string } | null } } }
      ).data.customerSet.customer;
      expect(applied?.id).toMatch(/^gid:\/\/shopify\/Customer\//);
      // ... and the hub never recorded it: that customer is not published and links no Shopify customer.
      const killedKey = customers.find((c) => c.email === killed.email)!.key;
      const atKill = await customerDb(database.db)
        .selectFrom("customer_publish_state as s")
        .innerJoin("customer_records as r", "r.id", "s.customer_id")
        .select(["s.status", "s.shopify_customer_gid"])
        .where("s.store_id", "=", storeId)
        .where("r.key", "=", killedKey)
        .executeTakeFirstOrThrow();
      expect(atKill.status).not.toBe("published");
      expect(atKill.shopify_customer_gid).not.toBe(applied!.id);
      expect(await published()).toBeLessThan(CUSTOMERS);

      const end = Date.now() + 30_000;
      while ((await published()) < CUSTOMERS) {
        if (Date.now() > end) throw new Error(`only ${await published()} of ${CUSTOMERS} published`);
        await sleep(100);
      }
      expect(await owner()).toBe(survivor.child.pid);

      const transport = createAdminTransport({
        store: domain,
        urlTemplate: `${emulator.url}/{shop}`,
        getAccessToken: async () => store.token,
        clock: systemClock,
        logger: pino({ level: "silent" }),
      });
      const all = await transport.graphql<{
        customers: { nodes: { email: string; emailMarketingConsent: { marketingState: string } }[] };
      }>(`{ customers(first: 250) { nodes { email emailMarketingConsent { marketingState } } } }`);
      const emails = all.data.customers.nodes.map((c) => c.email).sort();
      // The customer Shopify created for the dead owner was found again by email and linked.
      const after = await customerDb(database.db)
        .selectFrom("customer_publish_state as s")
        .innerJoin("customer_records as r", "r.id", "s.customer_id")
        .select(["s.shopify_customer_gid"])
        .where("s.store_id", "=", storeId)
        .where("r.key", "=", killedKey)
        .executeTakeFirstOrThrow();
      expect(after.shopify_customer_gid).toBe(applied!.id);
      expect(emails).toEqual(customers.map((c) => c.email).sort());
      expect(
        all.data.customers.nodes.every((c) => c.emailMarketingConsent.marketingState === "SUBSCRIBED"),
      ).toBe(true);
      for (let co = 0; co < COMPANIES; co++) {
        const r = await transport.graphql<{
          companies: { nodes: { name: string; contacts: { nodes: unknown[] } }[] };
        }>(
          `query ($q: String!) { companies(first: 5, query: $q) { nodes { name contacts(first: 50) { nodes { id } } } } }`,
          {
            q: `external_id:"${companyExternalId("", `CO-${co}`)}"`,
          },
        );
        const members = customers.filter((c) => c.companyKey === `CO-${co}`).length;
        expect(r.data.companies.nodes.map((n) => [n.name, n.contacts.nodes.length])).toEqual([
          [`Co ${co}`, members],
        ]);
      }
    } finally {
      await database.close();
      for (const h of hubs)
        if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill("SIGKILL");
      await Promise.all(hubs.map((h) => exited(h.child)));
    }
  }, 90_000);
});
