import { describe, expect, it } from "vitest";
import { planCustomerBatch } from "./customer-store.ts";
import { consentInput, mergeTags, parseOwned, personInput } from "./publish.ts";

const NOW = Date.parse("2026-11-28T12:00:00Z");
const none = { emailOwners: new Map<string, string>(), phoneOwners: new Map<string, string>() };
const codes = (items: unknown[], lookup = none) => {
  const p = planCustomerBatch(items, lookup, NOW);
  return p.ok ? [] : p.errors.map((e) => [e.index, e.path, e.code]);
};

describe("planCustomerBatch", () => {
  it("normalises a valid customer: email lower-cased, tags sorted and unique, consent date in UTC", () => {
    const p = planCustomerBatch(
      [
        {
          key: "C-1",
          email: " Ada@Example.COM ",
          tags: ["vip", " b2b", "vip"],
          emailMarketing: { state: "subscribed", consentedAt: "2026-03-01T11:00:00+01:00" },
        },
      ],
      none,
      NOW,
    );
    expect(p.ok && p.customers[0]).toMatchObject({
      email: "ada@example.com",
      tags: ["b2b", "vip"],
      emailMarketing: { state: "subscribed", consentedAt: "2026-03-01T10:00:00.000Z", optInLevel: "unknown" },
      smsMarketing: null,
    });
  });

  it("names every problem with its index, path and code, and saves nothing", () => {
    expect(
      codes([
        { key: "A", email: "not-an-email" },
        { key: "B", phone: "030 1234567" },
        { key: "C" },
        {
          key: "D",
          phone: "+4930111111",
          emailMarketing: { state: "subscribed", consentedAt: "2026-01-01T00:00:00Z" },
        },
        {
          key: "E",
          email: "e@x.io",
          smsMarketing: { state: "subscribed", consentedAt: "2026-01-01T00:00:00Z" },
        },
        {
          key: "F",
          email: "f@x.io",
          emailMarketing: { state: "subscribed", consentedAt: "2099-01-01T00:00:00Z" },
        },
        { key: "G", email: "g@x.io", emailMarketing: { state: "subscribed", consentedAt: "last week" } },
        { key: "H", email: "h@x.io", nickname: "h" },
        { key: "A2", email: "a2@x.io", tags: ["a,b"] },
        { key: "J", email: "j@x.io", addresses: [{ city: "Köln", countryCode: "de" }] },
      ]),
    ).toEqual([
      [0, "customers[0].email", "INVALID_EMAIL"],
      [1, "customers[1].phone", "INVALID_PHONE"],
      [2, "customers[2].email", "CONTACT_REQUIRED"],
      [3, "customers[3].emailMarketing", "CONSENT_WITHOUT_EMAIL"],
      [4, "customers[4].smsMarketing", "CONSENT_WITHOUT_PHONE"],
      [5, "customers[5].emailMarketing.consentedAt", "CONSENT_DATE_IN_FUTURE"],
      [6, "customers[6].emailMarketing.consentedAt", "INVALID_CONSENT_DATE"],
      [7, "customers[7]", "UNKNOWN_FIELD"],
      [8, "customers[8].tags[0]", "INVALID_FIELD"],
      [9, "customers[9].addresses[0].countryCode", "INVALID_FIELD"],
    ]);
  });

  it("one email or phone per customer: within the batch and against customers saved before", () => {
    expect(
      codes([
        { key: "A", email: "a@x.io", phone: "+4930111111" },
        { key: "A", email: "b@x.io" },
        { key: "C", email: "A@x.io" },
        { key: "D", email: "d@x.io", phone: "+4930111111" },
      ]),
    ).toEqual([
      [1, "customers[1].key", "DUPLICATE_CUSTOMER_KEY"],
      [2, "customers[2].email", "DUPLICATE_EMAIL_IN_BATCH"],
      [3, "customers[3].phone", "DUPLICATE_PHONE_IN_BATCH"],
    ]);
    const saved = {
      emailOwners: new Map([["a@x.io", "OLD"]]),
      phoneOwners: new Map([["+4930111111", "OLD"]]),
    };
    expect(codes([{ key: "N", email: "a@x.io", phone: "+4930111111" }], saved)).toEqual([
      [0, "customers[0].email", "EMAIL_IN_OTHER_CUSTOMER"],
      [0, "customers[0].phone", "PHONE_IN_OTHER_CUSTOMER"],
    ]);
    // An owner moving on in the same batch releases them.
    expect(
      codes(
        [
          { key: "N", email: "a@x.io", phone: "+4930111111" },
          { key: "OLD", email: "old@x.io" },
        ],
        saved,
      ),
    ).toEqual([]);
    // The owner itself may send them again.
    expect(codes([{ key: "OLD", email: "a@x.io", phone: "+4930111111" }], saved)).toEqual([]);
  });
});

describe("publish decisions", () => {
  it("keeps the merchant's tags and replaces only the hub's", () => {
    expect(mergeTags(["Merchant", "old-hub"], ["old-hub"], ["vip"])).toEqual(["Merchant", "vip"]);
    expect(mergeTags(["VIP"], [], ["vip"])).toEqual(["VIP"]);
  });

  it("turns stated consent into Shopify's input and missing consent into nothing", () => {
    expect(consentInput(null)).toBeNull();
    expect(
      consentInput({
        state: "unsubscribed",
        consentedAt: "2026-01-01T00:00:00.000Z",
        optInLevel: "single_opt_in",
      }),
    ).toEqual({
      marketingState: "UNSUBSCRIBED",
      consentUpdatedAt: "2026-01-01T00:00:00.000Z",
      marketingOptInLevel: "SINGLE_OPT_IN",
    });
  });

  it("sends what the back office states and clears only the fields the hub set", () => {
    expect(personInput({ email: null, phone: "+4930111111", firstName: "Nora", lastName: null }, [])).toEqual(
      {
        input: { phone: "+4930111111", firstName: "Nora" },
        fields: ["phone", "firstName"],
      },
    );
    expect(
      personInput({ email: null, phone: "+4930111111", firstName: null, lastName: null }, [
        "phone",
        "firstName",
      ]),
    ).toEqual({
      input: { phone: "+4930111111", firstName: null },
      fields: ["phone"],
    });
    // Rows written before fields were tracked hold the tags only.
    expect(parseOwned('["vip"]')).toEqual({ tags: ["vip"], fields: [] });
    expect(parseOwned(null)).toEqual({ tags: [], fields: [] });
  });
});
