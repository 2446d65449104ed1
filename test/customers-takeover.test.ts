/**
 * The customer publish across real processes (issue 16): two `tillbridge start` processes on one
 * PostgreSQL database publish customers and companies to one emulated store that answers slowly;
 * the store's owner is killed (-9) in the middle of the publish. The other process takes the
 * store over and finishes: every hub customer is one Shopify customer (a customerSet Shopify
 * applied just before the kill is found again by email, never created twice), each company one
 * Shopify company with one contact per customer, and every customer ends published.
 */
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { systemClock } from "../src/core/clock.ts";
import { customerDb } from "../src/customers/customer-store.ts";
import { companyExternalId } from "../src/customers/publish.ts";
import { openDatabase } from "../src/db/database.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { createTestDatabase, type TestDatabase } from "./support/databases.ts";
import { apiCaller, createAdminKey, exited } from "./support/process-api.ts";
import { startHubProcess } from "./support/processes.ts";
import { emulatedStore } from "./support/shopify.ts";

const CUSTOMERS = 16;
const COMPANIES = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let emulator: Emulator;
let test: TestDatabase;
beforeAll(async () => {
  emulator = await startEmulator();
  test = await createTestDatabase("postgres");
});
afterAll(async () => {
  await emulator?.close();
  await test?.drop();
});

describe("customer publish on two processes", () => {
  it("kill -9 of the owner mid-publish: each customer and company created once, nothing lost", async () => {
    const domain = `cust-fleet-${Date.now().toString(36)}.myshopify.com`;
    const store = await emulatedStore({ emulator, domain, skus: [] });
    const env = {
      DATABASE_URL: test.target.kind === "postgres" ? test.target.url : "",
      DEMO: "off",
      WORKER: "on",
      LEASE_TTL_MS: "3000",
      LEASE_HEARTBEAT_MS: "750",
      SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}`,
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    };
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
      // Slow answers, so the owner is killed with the publish under way.
      emulator.control.setFaults(domain, { latencyMs: 60 });
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
      // Kill the owner once a few customers are out and most are not.
      const deadline = Date.now() + 30_000;
      while ((await published()) < 3) {
        if (Date.now() > deadline) throw new Error("the publish did not start");
        await sleep(50);
      }
      const first = await owner();
      const victim = hubs.find((h) => h.child.pid === first) ?? a;
      const survivor = victim === a ? b : a;
      victim.child.kill("SIGKILL");
      await exited(victim.child);
      const atKill = await published();
      expect(atKill).toBeLessThan(CUSTOMERS);
      emulator.control.clearFaults(domain);

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
      emulator.control.clearFaults(domain);
      await database.close();
      for (const h of hubs)
        if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill("SIGKILL");
      await Promise.all(hubs.map((h) => exited(h.child)));
    }
  }, 90_000);
});
