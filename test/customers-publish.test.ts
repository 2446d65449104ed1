/**
 * Customers from the back office to Shopify end to end, on both databases, against the emulator:
 * a person and a company customer, matching by email then phone (a customer Shopify already has,
 * one an order created too, is linked, never duplicated), a duplicated and a crashed publish
 * (still one customer, one company, one contact), consent only as stated with its date, a refusal
 * shown with Shopify's field, and customers/redact erasing the record and its publish state.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { systemClock } from "../src/core/clock.ts";
import { customerDb } from "../src/customers/customer-store.ts";
import { companyExternalId, markDue, runCustomerPublishCycle } from "../src/customers/publish.ts";
import { handleComplianceTx } from "../src/orders/personal-data.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { connectDirectly, type EmulatedStore, emulatedStore } from "./support/shopify.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator?.close());

interface ShopifyView {
  id: string;
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  tags: string[];
  defaultAddress: { city: string | null; countryCodeV2: string | null } | null;
  emailMarketingConsent: {
    marketingState: string;
    consentUpdatedAt: string | null;
    marketingOptInLevel: string | null;
  } | null;
  smsMarketingConsent: { marketingState: string; consentUpdatedAt: string | null } | null;
  companyContactProfiles: {
    id: string;
    company: { id: string; name: string; externalId: string | null };
    roleAssignments: { nodes: { role: { name: string }; companyLocation: { id: string } }[] };
  }[];
}

const READ = `query ($q: String!) {
  customers(first: 10, query: $q) {
    nodes {
      id email phone firstName lastName tags
      defaultAddress { city countryCodeV2 }
      emailMarketingConsent { marketingState consentUpdatedAt marketingOptInLevel }
      smsMarketingConsent { marketingState consentUpdatedAt }
      companyContactProfiles {
        id
        company { id name externalId }
        roleAssignments(first: 5) { nodes { role { name } companyLocation { id } } }
      }
    }
  }
}`;
const COMPANIES = `query ($q: String!) {
  companies(first: 10, query: $q) { nodes { id name locations(first: 5) { nodes { id name } } contacts(first: 10) { nodes { id } } } }
}`;
const SET = `mutation ($identifier: CustomerSetIdentifiers, $input: CustomerSetInput!) {
  customerSet(identifier: $identifier, input: $input) { customer { id } userErrors { field message code } }
}`;

describe.each(DIALECTS)("customers to Shopify on %s", (dialect) => {
  let hub: TestHub;
  let store: EmulatedStore;
  let storeId: number;
  let transport: AdminTransport;
  const deps = () => ({ db: hub.ctx.database.db, now: () => Date.now(), logger: hub.ctx.logger });

  const put = async (customers: unknown[]) => {
    const res = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/customers",
      headers: hub.auth,
      payload: { customers },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const converge = async () => {
    for (let i = 0; i < 20; i++) {
      const r = await runCustomerPublishCycle(deps(), { id: storeId, domain: store.domain }, transport);
      if (r.marked === 0 && r.published === 0 && r.refused === 0 && r.failed === 0 && !r.remaining) return;
    }
    throw new Error("customer publish did not converge");
  };
  const shopify = async (q: string) =>
    (await transport.graphql<{ customers: { nodes: ShopifyView[] } }>(READ, { q })).data.customers.nodes;
  const companies = async (name: string) =>
    (
      await transport.graphql<{
        companies: {
          nodes: {
            id: string;
            name: string;
            locations: { nodes: unknown[] };
            contacts: { nodes: unknown[] };
          }[];
        };
      }>(COMPANIES, { q: `external_id:"${companyExternalId(name)}"` })
    ).data.companies.nodes;
  const state = (key: string) =>
    customerDb(hub.ctx.database.db)
      .selectFrom("customer_publish_state as s")
      .innerJoin("customer_records as r", "r.id", "s.customer_id")
      .selectAll("s")
      .where("s.store_id", "=", storeId)
      .where("r.key", "=", key)
      .executeTakeFirstOrThrow();
  const calls = () => emulator.control.apiCalls(store.domain).map((c) => JSON.stringify(c));
  const mutationsSince = (
    n: number,
    re = /customerSet|ConsentUpdate|companyCreate|companyAssign|AssignRole/,
  ) =>
    calls()
      .slice(n)
      .filter((c) => re.test(c));

  beforeAll(async () => {
    hub = await startTestHub(dialect);
    store = await emulatedStore({ emulator, domain: `customers-${dialect}.myshopify.com`, skus: ["CUP"] });
    storeId = await connectDirectly(hub.ctx.database.db, store, [[]], { enabledFlows: [] });
    transport = createAdminTransport({
      store: store.domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
  });
  afterAll(async () => hub?.close());

  it("publishes a person once, with consent only as stated; an unchanged customer is never sent again", async () => {
    await put([
      {
        key: "C-1",
        email: "Ada@Example.com",
        phone: "+4930123456",
        firstName: "Ada",
        lastName: "Lovelace",
        tags: ["vip", "newsletter"],
        addresses: [{ address1: "Main 1", city: "Berlin", countryCode: "DE", zip: "10115" }],
        emailMarketing: {
          state: "subscribed",
          consentedAt: "2026-03-01T10:00:00Z",
          optInLevel: "confirmed_opt_in",
          source: "shop counter",
        },
      },
    ]);
    await converge();
    const [c, ...more] = await shopify("email:ada@example.com");
    expect(more).toEqual([]);
    expect(c).toMatchObject({
      email: "ada@example.com",
      phone: "+4930123456",
      firstName: "Ada",
      lastName: "Lovelace",
      tags: ["newsletter", "vip"],
      defaultAddress: { city: "Berlin", countryCodeV2: "DE" },
      emailMarketingConsent: {
        marketingState: "SUBSCRIBED",
        consentUpdatedAt: "2026-03-01T10:00:00Z",
        marketingOptInLevel: "CONFIRMED_OPT_IN",
      },
      // No SMS consent was stated: Shopify keeps its own "not subscribed".
      smsMarketingConsent: { marketingState: "NOT_SUBSCRIBED", consentUpdatedAt: null },
      companyContactProfiles: [],
    });
    expect(await state("C-1")).toMatchObject({
      status: "published",
      shopify_customer_gid: c!.id,
      error: null,
    });

    const before = calls().length;
    await converge();
    await put([
      {
        key: "C-1",
        email: "ada@example.com",
        phone: "+4930123456",
        firstName: "Ada",
        lastName: "Lovelace",
        tags: ["newsletter", "vip"],
        addresses: [{ address1: "Main 1", city: "Berlin", countryCode: "DE", zip: "10115" }],
        emailMarketing: {
          state: "subscribed",
          consentedAt: "2026-03-01T10:00:00Z",
          optInLevel: "confirmed_opt_in",
          source: "shop counter",
        },
      },
    ]);
    await converge();
    expect(mutationsSince(before)).toEqual([]);
  });

  it("a name change re-sends the customer but not the unchanged consent; a merchant's tag survives", async () => {
    const [c] = await shopify("email:ada@example.com");
    await transport.graphql(SET, {
      identifier: { id: c!.id },
      input: { tags: [...c!.tags, "merchant-tag"] },
    });
    const before = calls().length;
    await put([
      {
        key: "C-1",
        email: "ada@example.com",
        phone: "+4930123456",
        firstName: "Augusta Ada",
        lastName: "Lovelace",
        tags: ["vip"],
        addresses: [{ address1: "Main 1", city: "Berlin", countryCode: "DE", zip: "10115" }],
        emailMarketing: {
          state: "subscribed",
          consentedAt: "2026-03-01T10:00:00Z",
          optInLevel: "confirmed_opt_in",
          source: "shop counter",
        },
      },
    ]);
    await converge();
    const sent = mutationsSince(before);
    expect(sent.filter((m) => /customerSet/.test(m))).toHaveLength(1);
    expect(sent.filter((m) => /ConsentUpdate/.test(m))).toEqual([]);
    const [after] = await shopify("email:ada@example.com");
    expect(after!.firstName).toBe("Augusta Ada");
    expect([...after!.tags].sort()).toEqual(["merchant-tag", "vip"]);
  });

  it("withdrawn consent is sent with its date; a customer without consent is never subscribed", async () => {
    await put([
      { key: "C-2", email: "bob@example.com", firstName: "Bob", smsMarketing: null },
      {
        key: "C-3",
        phone: "+4915112345678",
        firstName: "Cleo",
        smsMarketing: { state: "unsubscribed", consentedAt: "2026-02-01T08:30:00+01:00" },
      },
    ]);
    await converge();
    const [bob] = await shopify("email:bob@example.com");
    expect(bob!.emailMarketingConsent!.marketingState).toBe("NOT_SUBSCRIBED");
    expect(bob!.smsMarketingConsent).toBeNull();
    const [cleo] = await shopify("phone:+4915112345678");
    expect(cleo!.smsMarketingConsent).toEqual({
      marketingState: "UNSUBSCRIBED",
      consentUpdatedAt: "2026-02-01T07:30:00Z",
    });
    expect(cleo!.email).toBeNull();
  });

  it("links the customer an order created and a customer found by phone, never a second one", async () => {
    emulator.control.placeOrder(store.domain, {
      lineItems: [{ sku: "CUP", quantity: 1, price: "5.00" }] as never,
      email: "dora@example.com",
      customer: { email: "dora@example.com", firstName: "Dora" },
    });
    const [ordered] = await shopify("email:dora@example.com");
    expect(ordered).toBeDefined();
    // A customer the merchant created by hand, known only by phone.
    const byPhone = await transport.graphql<{ customerSet: { customer: { id: string } } }>(SET, {
      identifier: { phone: "+4917011111111" },
      input: { phone: "+4917011111111", firstName: "Emil" },
    });
    await put([
      { key: "C-4", email: "DORA@example.com", firstName: "Dora", lastName: "Diaz" },
      { key: "C-5", email: "emil@example.com", phone: "+4917011111111", firstName: "Emil" },
    ]);
    await converge();
    expect(await shopify("email:dora@example.com")).toHaveLength(1);
    expect((await state("C-4")).shopify_customer_gid).toBe(ordered!.id);
    expect((await state("C-5")).shopify_customer_gid).toBe(byPhone.data.customerSet.customer.id);
    const [emil, ...others] = await shopify("phone:+4917011111111");
    expect(others).toEqual([]);
    expect(emil!.email).toBe("emil@example.com");
  });

  it("a field the back office leaves empty keeps what Shopify has, unless the hub set it", async () => {
    emulator.control.placeOrder(store.domain, {
      lineItems: [{ sku: "CUP", quantity: 1, price: "5.00" }],
      email: "nora@example.com",
      customer: { email: "nora@example.com", phone: "+4917077777777", lastName: "Nagel" },
    });
    await put([{ key: "C-12", phone: "+4917077777777", firstName: "Nora" }]);
    await converge();
    const [nora, ...more] = await shopify("phone:+4917077777777");
    expect(more).toEqual([]);
    // The email and last name the customer gave at checkout stay; the first name is the back office's.
    expect(nora).toMatchObject({ email: "nora@example.com", firstName: "Nora", lastName: "Nagel" });
    // The back office drops the first name it had set: cleared in Shopify.
    await put([{ key: "C-12", phone: "+4917077777777" }]);
    await converge();
    const [after] = await shopify("phone:+4917077777777");
    expect(after).toMatchObject({ email: "nora@example.com", firstName: null, lastName: "Nagel" });
  });

  it("a company customer becomes the contact of one company with a location and an ordering role", async () => {
    await put([
      {
        key: "B-1",
        email: "buyer@acme.example",
        firstName: "Fay",
        companyName: "Acme GmbH",
        priceGroup: "WHOLESALE",
        addresses: [{ address1: "Dock 5", city: "Hamburg", countryCode: "DE", zip: "20457" }],
      },
      { key: "B-2", email: "clerk@acme.example", firstName: "Gus", companyName: "  acme gmbh " },
    ]);
    await converge();
    const [co, ...moreCompanies] = await companies("Acme GmbH");
    expect(moreCompanies).toEqual([]);
    expect(co!.name).toBe("Acme GmbH");
    expect(co!.locations.nodes).toHaveLength(1);
    expect(co!.contacts.nodes).toHaveLength(2);
    const [fay] = await shopify("email:buyer@acme.example");
    expect(fay!.companyContactProfiles).toHaveLength(1);
    expect(fay!.companyContactProfiles[0]!.company.id).toBe(co!.id);
    expect(fay!.companyContactProfiles[0]!.roleAssignments.nodes.map((n) => n.role.name)).toEqual([
      "Ordering only",
    ]);
    const s = await state("B-1");
    expect(s).toMatchObject({ status: "published", shopify_company_gid: co!.id });
    // The price group is not a price list in this store: published, with the reason shown.
    expect(JSON.parse(s.error!)).toMatchObject({ code: "PRICE_GROUP_NOT_IN_STORE", field: "priceGroup" });
    // A person stays a person.
    const [ada] = await shopify("email:ada@example.com");
    expect(ada!.companyContactProfiles).toEqual([]);
  });

  it("the company location joins its price group's catalog once the group is a price list in the store", async () => {
    const made = await transport.graphql<{ catalogCreate: { catalog: { id: string } } }>(
      `mutation ($input: CatalogCreateInput!) { catalogCreate(input: $input) { catalog { id } userErrors { message } } }`,
      { input: { title: "Wholesale", status: "ACTIVE", context: { companyLocationIds: [] } } },
    );
    const catalogId = made.data.catalogCreate.catalog.id;
    // What the price publish records once the group is a price list with its catalog (src/prices).
    // biome-ignore lint/suspicious/noExplicitAny: the price tables are typed in src/prices
    const db = hub.ctx.database.db as any;
    const now = Date.now();
    const { id: groupId } = await db
      .insertInto("price_groups")
      .values({ code: "WHOLESALE", name: "Wholesale", currency: "EUR", created_at: now, updated_at: now })
      .returning("id")
      .executeTakeFirstOrThrow();
    await db
      .insertInto("price_list_state")
      .values({
        store_id: storeId,
        group_id: groupId,
        price_list_gid: "gid://shopify/PriceList/1",
        catalog_gid: catalogId,
        currency: "EUR",
        error: null,
        attempts: 0,
        next_attempt_at: now,
        synced_at: now,
        updated_at: now,
      })
      .execute();
    const before = calls().length;
    await converge();
    expect(mutationsSince(before, /catalogContextUpdate/)).toHaveLength(1);
    const s = await state("B-1");
    expect(s).toMatchObject({ status: "published", catalog_gid: catalogId, error: null });
    const loc = await transport.graphql<{ companyLocation: { catalogs: { nodes: { id: string }[] } } }>(
      `query ($id: ID!) { companyLocation(id: $id) { catalogs(first: 5) { nodes { id } } } }`,
      { id: s.company_location_gid },
    );
    expect(loc.data.companyLocation.catalogs.nodes.map((n) => n.id)).toEqual([catalogId]);
    // B-2 has no price group: left out of the catalog; nothing is sent again.
    const again = calls().length;
    await converge();
    expect(mutationsSince(again, /catalogContextUpdate|customerSet/)).toEqual([]);
  });

  it("a duplicated or crashed publish never makes a second customer, company or contact", async () => {
    const cdb = customerDb(hub.ctx.database.db);
    // As if the hub crashed after Shopify's answers and before recording them.
    await cdb
      .updateTable("customer_publish_state")
      .set({
        status: "pending",
        confirmed_hash: null,
        confirmed_consent_hash: null,
        shopify_customer_gid: null,
        shopify_company_gid: null,
        company_contact_gid: null,
        next_attempt_at: 0,
      })
      .where("store_id", "=", storeId)
      .execute();
    // Two runs at once (a duplicated job).
    await Promise.all([
      runCustomerPublishCycle(deps(), { id: storeId, domain: store.domain }, transport),
      runCustomerPublishCycle(deps(), { id: storeId, domain: store.domain }, transport),
    ]);
    await converge();
    for (const q of [
      "email:ada@example.com",
      "email:bob@example.com",
      "email:buyer@acme.example",
      "email:dora@example.com",
    ])
      expect(await shopify(q), q).toHaveLength(1);
    const [co, ...more] = await companies("Acme GmbH");
    expect(more).toEqual([]);
    expect(co!.contacts.nodes).toHaveLength(2);
    expect(co!.locations.nodes).toHaveLength(1);
    const rows = await cdb
      .selectFrom("customer_publish_state")
      .select(["status"])
      .where("store_id", "=", storeId)
      .execute();
    expect(rows.every((r) => r.status === "published")).toBe(true);
  });

  it("a company with the back office's key, renamed there, is renamed in Shopify: never a second company", async () => {
    await put([
      { key: "K-1", email: "kim@north.example", companyName: "North Trading", companyKey: "DEB-77" },
      { key: "K-2", email: "lee@north.example", companyName: "North Trading", companyKey: "DEB-77" },
    ]);
    await converge();
    const byKey = async () =>
      (
        await transport.graphql<{ companies: { nodes: { id: string; name: string }[] } }>(COMPANIES, {
          q: `external_id:"${companyExternalId("", "DEB-77")}"`,
        })
      ).data.companies.nodes;
    const [before, ...none] = await byKey();
    expect(none).toEqual([]);
    expect(before!.name).toBe("North Trading");
    const n = calls().length;
    await put([
      { key: "K-1", email: "kim@north.example", companyName: "North Trading AG", companyKey: "DEB-77" },
      { key: "K-2", email: "lee@north.example", companyName: "North Trading AG", companyKey: "DEB-77" },
    ]);
    await converge();
    const [after, ...still] = await byKey();
    expect(still).toEqual([]);
    expect(after).toEqual({ ...before, name: "North Trading AG" });
    expect(mutationsSince(n, /companyCreate/)).toEqual([]);
    expect(mutationsSince(n, /companyUpdate/)).toHaveLength(1); // the second customer finds it renamed
    const [kim] = await shopify("email:kim@north.example");
    expect(kim!.companyContactProfiles.map((p) => p.company.id)).toEqual([before!.id]);
    // A company key needs its name: refused with the field, nothing saved.
    const res = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/customers",
      headers: hub.auth,
      payload: { customers: [{ key: "K-3", email: "x@north.example", companyKey: "DEB-77" }] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toMatchObject([{ code: "COMPANY_KEY_WITHOUT_NAME", id: "K-3" }]);
  });

  it("a company without a key, renamed in the back office, is renamed in Shopify (one company); one customer moving to a new name is a new company", async () => {
    const named = async (name: string) =>
      (
        await transport.graphql<{ companies: { nodes: { id: string; name: string }[] } }>(COMPANIES, {
          q: `name:"${name}"`,
        })
      ).data.companies.nodes.filter((c) => c.name === name);
    await put([
      { key: "R-1", email: "rita@south.example", companyName: "South Traders" },
      { key: "R-2", email: "rolf@south.example", companyName: "South Traders" },
    ]);
    await converge();
    const [before, ...none] = await named("South Traders");
    expect(none).toEqual([]);
    expect((await state("R-1")).shopify_company_gid).toBe(before!.id);
    // Renamed for both customers: the linked company takes the new name (and the new name's
    // external id), the second customer finds it by that name; no second company.
    let n = calls().length;
    await put([
      { key: "R-1", email: "rita@south.example", companyName: "South Traders Ltd" },
      { key: "R-2", email: "rolf@south.example", companyName: "South Traders Ltd" },
    ]);
    await converge();
    expect(mutationsSince(n, /companyCreate/)).toEqual([]);
    expect(mutationsSince(n, /companyUpdate/)).toHaveLength(1);
    expect(await named("South Traders")).toEqual([]);
    const [after, ...still] = await named("South Traders Ltd");
    expect(still).toEqual([]);
    expect(after!.id).toBe(before!.id);
    expect((await companies("South Traders Ltd")).map((c) => c.id)).toEqual([before!.id]);
    for (const key of ["R-1", "R-2"]) expect((await state(key)).shopify_company_gid).toBe(before!.id);
    // One customer moves to another name while the other stays: a new company, the old one kept.
    n = calls().length;
    await put([{ key: "R-2", email: "rolf@south.example", companyName: "Rolf Consulting" }]);
    await converge();
    expect(mutationsSince(n, /companyUpdate/)).toEqual([]);
    expect(mutationsSince(n, /companyCreate/)).toHaveLength(1);
    expect((await named("South Traders Ltd")).map((c) => c.id)).toEqual([before!.id]);
    const [moved] = await named("Rolf Consulting");
    expect(moved!.id).not.toBe(before!.id);
    expect((await state("R-2")).shopify_company_gid).toBe(moved!.id);
  });

  it("a consent source naming one of the store's locations is sent as Shopify's source location; another source is not", async () => {
    const SOURCE = `query ($q: String!) { customers(first: 1, query: $q) { nodes {
      emailMarketingConsent { marketingState sourceLocation { id name } }
      smsMarketingConsent { marketingState sourceLocation { id name } } } } }`;
    await put([
      {
        key: "S-1",
        email: "sam@example.com",
        phone: "+4940555000",
        emailMarketing: { state: "subscribed", consentedAt: "2026-04-01T09:00:00Z", source: "shop floor" },
        smsMarketing: { state: "subscribed", consentedAt: "2026-04-01T09:00:00Z", source: "newsletter form" },
      },
    ]);
    await converge();
    const r = await transport.graphql<{
      customers: {
        nodes: {
          emailMarketingConsent: {
            marketingState: string;
            sourceLocation: { id: string; name: string } | null;
          };
          smsMarketingConsent: {
            marketingState: string;
            sourceLocation: { id: string; name: string } | null;
          };
        }[];
      };
    }>(SOURCE, { q: "email:sam@example.com" });
    const [sam] = r.data.customers.nodes;
    const floor = store.locations.find((l) => l.name === "Shop floor")!;
    expect(sam!.emailMarketingConsent).toEqual({
      marketingState: "SUBSCRIBED",
      sourceLocation: { id: floor.id, name: "Shop floor" },
    });
    expect(sam!.smsMarketingConsent).toEqual({ marketingState: "SUBSCRIBED", sourceLocation: null });
    expect((await state("S-1")).status).toBe("published");
  });

  it("a customer Shopify refuses is shown with the field, and the others still publish", async () => {
    // Shopify has someone else with this phone.
    await transport.graphql(SET, {
      identifier: { phone: "+4917099999999" },
      input: { phone: "+4917099999999", firstName: "Other" },
    });
    await put([
      { key: "C-6", email: "hana@example.com", phone: "+4917099999999", firstName: "Hana" },
      { key: "C-7", email: "ivo@example.com", firstName: "Ivo" },
    ]);
    // By email: none; by phone: "Other" — linked to it (the same person by phone), never duplicated.
    await converge();
    expect((await state("C-7")).status).toBe("published");
    // Now a phone Shopify holds for another customer than the one found by email.
    await transport.graphql(SET, {
      identifier: { phone: "+4917088888888" },
      input: { phone: "+4917088888888", firstName: "Jo" },
    });
    await put([{ key: "C-7", email: "ivo@example.com", phone: "+4917088888888", firstName: "Ivo" }]);
    await converge();
    const s = await state("C-7");
    expect(s.status).toBe("refused");
    expect(JSON.parse(s.error!)).toMatchObject({
      code: "SHOPIFY_USER_ERRORS",
      step: "customerSet",
      field: "input.phone",
    });
    const list = await hub.server.inject({
      method: "GET",
      url: `/api/v1/stores/${store.domain}/customers?status=refused`,
      headers: hub.auth,
    });
    expect(list.json().items.map((i: { key: string }) => i.key)).toEqual(["C-7"]);
    expect(list.json().items[0].error.message).toContain("Phone has already been taken");
  });

  it("a Shopify customer linked to one hub customer is never taken over by another with its old email", async () => {
    await put([{ key: "C-10", email: "lena@example.com", firstName: "Lena" }]);
    await converge();
    const lena = (await state("C-10")).shopify_customer_gid;
    // Lena's email moves to a new customer in the same batch; the new one happens to go first.
    await put([
      { key: "C-10", email: "lena.new@example.com", firstName: "Lena" },
      { key: "C-11", email: "lena@example.com", firstName: "Luca" },
    ]);
    const cdb = customerDb(hub.ctx.database.db);
    const hold = async (key: string, at: number) => {
      const { id } = await cdb
        .selectFrom("customer_records")
        .select("id")
        .where("key", "=", key)
        .executeTakeFirstOrThrow();
      await cdb
        .updateTable("customer_publish_state")
        .set({ next_attempt_at: at })
        .where("store_id", "=", storeId)
        .where("customer_id", "=", id)
        .execute();
    };
    await markDue(hub.ctx.database.db, storeId, Date.now()); // both due, nothing sent yet
    await hold("C-10", Date.now() + 3600_000);
    await hold("C-11", 0);
    await runCustomerPublishCycle(deps(), { id: storeId, domain: store.domain }, transport);
    const waiting = await state("C-11");
    expect(waiting).toMatchObject({ status: "pending", shopify_customer_gid: null });
    expect(JSON.parse(waiting.error!)).toMatchObject({ code: "LINKED_TO_OTHER_CUSTOMER", field: "email" });
    expect(JSON.parse(waiting.error!).message).toContain("C-10");
    await hold("C-10", 0);
    await converge();
    await hold("C-11", 0);
    await converge();
    expect((await state("C-10")).shopify_customer_gid).toBe(lena);
    const luca = await state("C-11");
    expect(luca.status).toBe("published");
    expect(luca.shopify_customer_gid).not.toBe(lena);
    expect((await shopify("email:lena@example.com")).map((c) => c.firstName)).toEqual(["Luca"]);
  });

  it("an email and a phone move to a new customer listed before their owner in one batch", async () => {
    await put([{ key: "M-1", email: "mo@example.com", phone: "+4930555555" }]);
    expect(
      await put([
        { key: "M-2", email: "mo@example.com", phone: "+4930555555" },
        { key: "M-1", email: "mo.old@example.com" },
      ]),
    ).toEqual({ created: 1, updated: 1, unchanged: 0 });
    const got = await hub.server.inject({ method: "GET", url: "/api/v1/customers?q=mo", headers: hub.auth });
    expect(
      got
        .json()
        .items.map((c: { key: string; email: string; phone: string | null }) => [c.key, c.email, c.phone]),
    ).toEqual([
      ["M-1", "mo.old@example.com", null],
      ["M-2", "mo@example.com", "+4930555555"],
    ]);
    await converge();
  });

  it("the store's flows list customer_publish with its backlog until the customers are published", async () => {
    const flow = async () => {
      const r = await hub.server.inject({
        method: "GET",
        url: `/api/v1/stores/${store.domain}/flows`,
        headers: hub.auth,
      });
      return (
        r.json().items as {
          flow: string;
          backlog: number;
          lagSeconds: number | null;
          lastSuccessAt: number | null;
        }[]
      ).find((f) => f.flow === "customer_publish")!;
    };
    await put([{ key: "C-9", email: "kim@example.com" }]);
    expect(await flow()).toMatchObject({ state: "disabled", backlog: 1 });
    await converge();
    const after = await flow();
    expect(after).toMatchObject({ backlog: 0, lagSeconds: null });
    expect(after.lastSuccessAt).not.toBeNull();
  });

  it("customers/data_request exports the back office's record; customers/redact erases it and its publish state", async () => {
    const [dora] = await shopify("email:dora@example.com");
    await hub.ctx.database.db.transaction().execute((trx) =>
      handleComplianceTx(
        trx,
        { id: storeId, domain: store.domain },
        "customers/data_request",
        {
          shop_domain: store.domain,
          customer: { id: dora!.id.split("/").pop()!, email: "dora@example.com" },
          data_request: { id: 7 },
        },
        Date.now(),
      ),
    );
    const exported = await hub.ctx.database.db
      .selectFrom("compliance_requests")
      .select("data")
      .where("topic", "=", "customers/data_request")
      .orderBy("id", "desc")
      .executeTakeFirstOrThrow();
    expect(JSON.parse(exported.data).customerRecords).toMatchObject([
      { key: "C-4", email: "dora@example.com", lastName: "Diaz" },
    ]);
    await hub.ctx.database.db.transaction().execute((trx) =>
      handleComplianceTx(
        trx,
        { id: storeId, domain: store.domain },
        "customers/redact",
        {
          shop_domain: store.domain,
          customer: { id: dora!.id.split("/").pop()!, email: "dora@example.com" },
        },
        Date.now(),
      ),
    );
    const r = await customerDb(hub.ctx.database.db)
      .selectFrom("customer_records")
      .selectAll()
      .where("key", "=", "C-4")
      .executeTakeFirstOrThrow();
    expect(r).toMatchObject({
      email: null,
      phone: null,
      first_name: null,
      last_name: null,
      tags: "[]",
      addresses: "[]",
    });
    expect(r.redacted_at).not.toBeNull();
    expect(await state("C-4")).toMatchObject({ status: "redacted", shopify_customer_gid: null });
    const before = calls().length;
    await converge();
    expect(mutationsSince(before)).toEqual([]);
    const got = await hub.server.inject({ method: "GET", url: "/api/v1/customers/C-4", headers: hub.auth });
    expect(got.json()).toMatchObject({
      key: "C-4",
      email: null,
      redacted: true,
      stores: [{ status: "redacted" }],
    });
  });
  it("DELETE /api/v1/customers/:key erases the hub's copy of one customer (the back office's deletion or retention)", async () => {
    const del = (key: string) =>
      hub.server.inject({ method: "DELETE", url: `/api/v1/customers/${key}`, headers: hub.auth });
    const first = await del("C-9");
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ key: "C-9", erased: true });
    expect((await del("C-9")).json()).toEqual({ key: "C-9", erased: false });
    const unknown = await del("NOPE");
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.details[0].code).toBe("UNKNOWN_CUSTOMER");
    const got = await hub.server.inject({ method: "GET", url: "/api/v1/customers/C-9", headers: hub.auth });
    expect(got.json()).toMatchObject({
      key: "C-9",
      email: null,
      firstName: null,
      redacted: true,
      stores: [{ status: "redacted", shopifyCustomerId: null }],
    });
    const audit = await hub.ctx.database.db
      .selectFrom("audit_log")
      .select(["action", "target", "after"])
      .where("action", "=", "customer.erase")
      .execute();
    expect(audit).toEqual([{ action: "customer.erase", target: "C-9", after: null }]);
    // Not published again until the back office sends it again.
    const before = calls().length;
    await converge();
    expect(mutationsSince(before)).toEqual([]);
    await put([{ key: "C-9", email: "kim@example.com", firstName: "Kim" }]);
    await converge();
    expect(await state("C-9")).toMatchObject({ status: "published" });
    expect(await shopify("email:kim@example.com")).toHaveLength(1);
  });
});
