import { describe, expect, it } from "vitest";
import { signWebhook, topicEnum, topicRest } from "./webhooks.ts";

describe("webhook helpers", () => {
  it("maps topics both ways", () => {
    expect(topicEnum("orders/create")).toBe("ORDERS_CREATE");
    expect(topicRest("ORDERS_CREATE")).toBe("orders/create");
    expect(topicRest("INVENTORY_LEVELS_UPDATE")).toBe("inventory_levels/update");
    expect(topicRest("BULK_OPERATIONS_FINISH")).toBe("bulk_operations/finish");
    expect(topicRest("APP_UNINSTALLED")).toBe("app/uninstalled");
  });

  it("signs the raw body as base64 HMAC-SHA256", () => {
    // echo -n '{"a":1}' | openssl dgst -sha256 -hmac secret -binary | base64
    expect(signWebhook('{"a":1}', "secret")).toBe("qp4uNXX11wmLbKzNeQiIw21f22M0KnO62i1qUXR6hJQ=");
  });
});
