import type { HubMigration } from "../schema-helpers.ts";

/**
 * The back office's key of a customer's company (`customer_records.company_key`, issue 16): the
 * company's identity in Shopify (its external id), so renaming the company in the back office
 * renames the Shopify company instead of creating a second one. Null: the back office sends no
 * company key, and the company name stays the identity as before.
 */
export const customerCompanyKey: HubMigration = {
  name: "0033-customer-company-key",
  async up({ db }) {
    await db.schema.alterTable("customer_records").addColumn("company_key", "text").execute();
  },
};
