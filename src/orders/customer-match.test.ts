import { describe, expect, it } from "vitest";
import { customerUpdates, planCustomer } from "./customer-match.ts";

describe("planCustomer", () => {
  it("matches by email, as a person or a company's contact", () => {
    expect(planCustomer({ email: "a@x.io", name: "A", phone: null, companyName: null }, null)).toMatchObject({
      kind: "match",
      customerKind: "person",
    });
    expect(
      planCustomer({ email: "a@x.io", name: "A", phone: null, companyName: "ACME" }, null),
    ).toMatchObject({
      kind: "match",
      customerKind: "company_contact",
      companyName: "ACME",
    });
  });
  it("uses the default customer for orders without email", () => {
    expect(planCustomer({ email: null, name: null, phone: null, companyName: null }, 9)).toEqual({
      kind: "default",
      customerId: 9,
    });
    expect(planCustomer({ email: null, name: "W", phone: null, companyName: null }, null)).toEqual({
      kind: "none",
    });
  });
  it("updates name, phone and company only when the order names them", () => {
    const plan = planCustomer({ email: "a@x.io", name: "New", phone: null, companyName: null }, null);
    if (plan.kind !== "match") throw new Error("expected match");
    expect(
      customerUpdates({ name: "Old", phone: "1", company_id: 3, kind: "company_contact" }, plan, null),
    ).toEqual({
      name: "New",
    });
    expect(customerUpdates({ name: "New", phone: null, company_id: null, kind: "person" }, plan, 4)).toEqual({
      company_id: 4,
      kind: "company_contact",
    });
  });
});
