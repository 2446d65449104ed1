// Standalone emulator: `node --import tsx emulator/cli.ts --port 8081 [--host 127.0.0.1] [--demo] [--log]
//   [--seed-shop large.myshopify.com --seed-variants 100000 --seed-locations 5 [--seed-plan standard] [--seed-quantity 0]]
//   [--seed-shop shop.myshopify.com --catalog 100000]` (a curated catalog: options, images, metafields; 5 variants a product).
import { parseArgs } from "node:util";
import { seedDemo } from "./demo.ts";
import { API_VERSION, startEmulator } from "./index.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8081" },
    host: { type: "string", default: "127.0.0.1" },
    demo: { type: "boolean", default: false },
    log: { type: "boolean", default: false },
    // TEST ONLY: accept plain http:// webhook addresses on loopback (Shopify takes HTTPS only).
    "test-only-allow-plain-http-webhooks": { type: "boolean", default: false },
    "seed-shop": { type: "string" },
    "seed-variants": { type: "string", default: "1000" },
    "seed-locations": { type: "string", default: "1" },
    "seed-plan": { type: "string", default: "standard" },
    "seed-quantity": { type: "string", default: "0" },
    catalog: { type: "string" },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`Invalid --port ${values.port}`);
  process.exit(2);
}

const emu = await startEmulator({
  port,
  host: values.host,
  logger: values.log,
  testOnlyAllowPlainHttpWebhooks: values["test-only-allow-plain-http-webhooks"],
});
console.log(
  `Shopify emulator listening on ${emu.url} (Admin API ${API_VERSION}, control API at ${emu.url}/_emulator)`,
);
if (values.demo) {
  const demo = seedDemo(emu.control);
  console.log(
    JSON.stringify(
      {
        ...demo,
        adminApi: `${emu.url}/${demo.shop}/admin/api/${API_VERSION}/graphql.json`,
        shopUrlTemplate: `${emu.url}/{shop}`,
      },
      null,
      2,
    ),
  );
}

if (values["seed-shop"]) {
  // A shop with a large catalog (benchmarks): created at once, no webhooks.
  const domain = values["seed-shop"];
  emu.control.createShop({ domain, plan: values["seed-plan"] as "standard" });
  const seeded = emu.control.seedCatalog(domain, {
    variants: Number(values.catalog ?? values["seed-variants"]),
    ...(values.catalog ? { catalog: true, variantsPerProduct: 5 } : {}),
    locations: Number(values["seed-locations"]),
    quantity: Number(values["seed-quantity"]),
  });
  console.log(
    JSON.stringify({ shop: domain, ...seeded, rssMB: Math.round(process.memoryUsage().rss / 2 ** 20) }),
  );
}

const stop = async () => {
  await emu.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
