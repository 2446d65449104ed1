/**
 * Property: PUT /api/v1/customers never answers 500, SQLite and PostgreSQL answer every batch the
 * same (status and body), a refused batch changes nothing, and both end with the same customers.
 * Batches mix valid customers from a small pool of keys, emails and phones (so keys are updated
 * and emails and phones collide, within a batch and across batches) with broken ones: bad email
 * and phone formats, consent without the channel or dated in the future, unknown fields, wrong
 * types, control characters. A fixed seed in the suite; CUSTOMER_FUZZ_SEED=random (or a number)
 * explores others.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "./support/hub.ts";

const SEED =
  process.env.CUSTOMER_FUZZ_SEED === "random"
    ? {}
    : { seed: Number(process.env.CUSTOMER_FUZZ_SEED ?? 20261128) };
const RUNS = Number(process.env.CUSTOMER_FUZZ_RUNS ?? 40);

const key = fc.constantFrom("K1", "K2", "K3", "K4", "k1", "K\u0000", "", "Ké", "Ke\u0301");
const email = fc.oneof(
  fc.constantFrom("a@x.io", "A@X.io", "b@x.io", "c@x.io", " d@x.io ", "not-an-email", "a@x", ""),
  fc.constant(null),
);
const phone = fc.oneof(
  fc.constantFrom("+4930111111", "+4930222222", "+4930333333", "030111111", "+0123456789", "+49 30 1111", ""),
  fc.constant(null),
);
const consent = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.record({
    state: fc.constantFrom("subscribed", "unsubscribed", "pending", "not_subscribed"),
    consentedAt: fc.constantFrom(
      "2026-01-02T03:04:05Z",
      "2026-01-02T04:04:05+01:00",
      "2099-01-01T00:00:00Z",
      "yesterday",
    ),
    optInLevel: fc.constantFrom(undefined, "single_opt_in", "confirmed_opt_in", "double"),
  }),
);
const text = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom("Ada", "Acme GmbH", "x\u0007", "a".repeat(256)),
);
const validCustomer = fc.record(
  {
    key: fc.constantFrom("K1", "K2", "K3", "K4", "Ké"),
    email: fc.constantFrom("a@x.io", "A@X.io", "b@x.io", "c@x.io", " d@x.io "),
    phone: fc.constantFrom(null, "+4930111111", "+4930222222", "+4930333333"),
    firstName: fc.constantFrom("Ada", "Bob", null),
    companyName: fc.constantFrom(undefined, "Acme GmbH", "  acme gmbh "),
    priceGroup: fc.constantFrom(undefined, "RETAIL", "WHOLESALE"),
    tags: fc.oneof(
      fc.constant(undefined),
      fc.array(fc.constantFrom("vip", "b2b", " vip "), { maxLength: 3 }),
    ),
    addresses: fc.oneof(
      fc.constant(undefined),
      fc.array(fc.record({ city: fc.constantFrom("Berlin", "Köln"), countryCode: fc.constant("DE") }), {
        maxLength: 2,
      }),
    ),
    emailMarketing: fc.oneof(
      fc.constant(undefined),
      fc.record({
        state: fc.constantFrom("subscribed", "unsubscribed", "pending"),
        consentedAt: fc.constantFrom("2026-01-02T03:04:05Z", "2026-01-02T04:04:05+01:00"),
      }),
    ),
  },
  { requiredKeys: ["key", "email"] },
);
const brokenCustomer = fc.record(
  {
    key,
    email,
    phone,
    firstName: fc.oneof(text, fc.constant(null)),
    lastName: text,
    companyName: fc.oneof(fc.constant(undefined), text),
    tags: fc.oneof(
      fc.constant(undefined),
      fc.array(fc.constantFrom("vip", "a,b", "", "x".repeat(256)), { maxLength: 3 }),
    ),
    addresses: fc.oneof(
      fc.constant(undefined),
      fc.array(
        fc.record(
          { city: text, countryCode: fc.constantFrom("DE", "de", "XYZ"), phone },
          { requiredKeys: ["city"] },
        ),
        {
          maxLength: 2,
        },
      ),
    ),
    emailMarketing: consent,
    smsMarketing: consent,
    extra: fc.constantFrom(undefined, 1),
  },
  { requiredKeys: ["key"] },
);
const customer = fc.oneof(
  { weight: 12, arbitrary: validCustomer },
  { weight: 2, arbitrary: brokenCustomer },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.constant(null),
      fc.string(),
      fc.integer(),
      fc.constant([]),
      fc.record({ key: fc.integer() }),
    ),
  },
);
const body = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.array(customer, { minLength: 1, maxLength: 3 }).map((customers) => ({ customers })),
  },
  { weight: 1, arbitrary: fc.constantFrom({}, { customers: [] }, { customers: "x" }, []) },
);

describe("PUT /api/v1/customers on both databases", () => {
  let lite: TestHub;
  let pg: TestHub;
  beforeAll(async () => {
    [lite, pg] = await Promise.all([startTestHub("sqlite"), startTestHub("postgres")]);
  });
  afterAll(async () => Promise.all([lite?.close(), pg?.close()]));

  const put = async (hub: TestHub, payload: unknown) => {
    const res = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/customers",
      headers: hub.auth,
      payload: payload as object,
    });
    return { status: res.statusCode, body: res.json() as unknown };
  };
  const all = async (hub: TestHub) => {
    const out: unknown[] = [];
    let cursor: string | null = null;
    do {
      const res = await hub.server.inject({
        method: "GET",
        url: `/api/v1/customers?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        headers: hub.auth,
      });
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json() as { items: { updatedAt: number }[]; nextCursor: string | null };
      out.push(...page.items.map(({ updatedAt: _, ...rest }) => rest));
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  };

  it("never answers 500, answers alike, and ends alike", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: 1, maxLength: 4 }), async (batches) => {
        for (const b of batches) {
          const before = await all(lite);
          const [a, p] = await Promise.all([put(lite, b), put(pg, b)]);
          expect(a.status, JSON.stringify(a.body)).toBeLessThan(500);
          expect(p).toEqual(a);
          if (a.status !== 200) expect(await all(lite)).toEqual(before);
          else
            expect(a.body).toEqual({
              created: expect.any(Number),
              updated: expect.any(Number),
              unchanged: expect.any(Number),
            });
        }
        expect(await all(pg)).toEqual(await all(lite));
      }),
      { numRuns: RUNS, ...SEED },
    );
    // The runs saved customers too, not only refusals.
    expect((await all(lite)).length).toBeGreaterThan(0);
  });

  it("concurrent batches claiming one email: one is saved, the others are refused (never 500), one customer holds it", async () => {
    for (const hub of [lite, pg]) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          put(hub, { customers: [{ key: `RACE-${i}`, email: "race@x.io", phone: `+49301000${i}00` }] }),
        ),
      );
      // One wins; the others are refused: EMAIL_IN_OTHER_CUSTOMER when the winner had committed
      // before they looked, 409 CONFLICT when both wrote at once (PostgreSQL's unique index).
      const refusal = (a: { status: number; body: unknown }) => {
        const e = (a.body as { error?: { code: string; details: { code: string }[] } }).error;
        return a.status === 409 ? e?.code : e?.details[0]?.code;
      };
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 200))
        expect(["CONFLICT", "EMAIL_IN_OTHER_CUSTOMER"], JSON.stringify(a)).toContain(refusal(a));
      const res = await hub.server.inject({
        method: "GET",
        url: "/api/v1/customers?q=race@x.io",
        headers: hub.auth,
      });
      expect((res.json() as { items: unknown[] }).items).toHaveLength(1);
    }
  });

  it("an email or phone held by one customer is never held by another (the publish's identity)", async () => {
    for (const hub of [lite, pg]) {
      const items = (await all(hub)) as { email: string | null; phone: string | null }[];
      const emails = items.map((i) => i.email).filter(Boolean);
      const phones = items.map((i) => i.phone).filter(Boolean);
      expect(new Set(emails).size).toBe(emails.length);
      expect(new Set(phones).size).toBe(phones.length);
    }
  });
});
