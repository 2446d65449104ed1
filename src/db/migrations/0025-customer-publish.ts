import type { HubMigration } from "../schema-helpers.ts";

/**
 * Customers from the back office, published to Shopify per store (issue 16):
 * - `customer_records`: the back office's customers by their own key (email, phone, names,
 *   addresses, tags, marketing consent as stated with its date and source, price group, company
 *   name) with the hash of their content; email and phone are unique among them (one Shopify
 *   customer per hub customer and store);
 * - `customer_publish_state`: per store and customer, the hash last asked for and the hash Shopify
 *   confirmed (consent separately: it is sent only when it changed), the Shopify customer, company,
 *   company location and contact the customer is linked to, and the outcome of the last attempt
 *   (refused with Shopify's userErrors, retried with backoff, or redacted).
 */
export const customerPublish: HubMigration = {
  name: "0025-customer-publish",
  async up({ db, id }) {
    await id(db.schema.createTable("customer_records"))
      .addColumn("key", "text", (c) => c.notNull().unique())
      .addColumn("email", "text")
      .addColumn("phone", "text")
      .addColumn("first_name", "text")
      .addColumn("last_name", "text")
      .addColumn("company_name", "text")
      .addColumn("price_group", "text")
      .addColumn("tags", "text", (c) => c.notNull())
      .addColumn("addresses", "text", (c) => c.notNull())
      .addColumn("email_consent", "text")
      .addColumn("sms_consent", "text")
      .addColumn("content_hash", "text", (c) => c.notNull())
      .addColumn("consent_hash", "text", (c) => c.notNull())
      .addColumn("redacted_at", "bigint")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("customer_records_email")
      .on("customer_records")
      .column("email")
      .unique()
      .execute();
    await db.schema
      .createIndex("customer_records_phone")
      .on("customer_records")
      .column("phone")
      .unique()
      .execute();

    await db.schema
      .createTable("customer_publish_state")
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("customer_id", "bigint", (c) => c.notNull().references("customer_records.id"))
      .addColumn("desired_hash", "text", (c) => c.notNull())
      .addColumn("confirmed_hash", "text")
      .addColumn("confirmed_consent_hash", "text")
      .addColumn("shopify_customer_gid", "text")
      .addColumn("shopify_company_gid", "text")
      .addColumn("company_location_gid", "text")
      .addColumn("company_contact_gid", "text")
      .addColumn("catalog_gid", "text")
      .addColumn("owned_tags", "text")
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("error", "text")
      .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("marked_at", "bigint", (c) => c.notNull())
      .addColumn("published_at", "bigint")
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("customer_publish_state_pk", ["store_id", "customer_id"])
      .execute();
    await db.schema
      .createIndex("customer_publish_state_due")
      .on("customer_publish_state")
      .columns(["store_id", "status", "next_attempt_at"])
      .execute();
  },
};
