// Standalone emulator: `node --import tsx emulator/cli.ts --port 8081 [--host 127.0.0.1] [--demo] [--log]`.
import { parseArgs } from "node:util";
import { seedDemo } from "./demo.ts";
import { API_VERSION, startEmulator } from "./index.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8081" },
    host: { type: "string", default: "127.0.0.1" },
    demo: { type: "boolean", default: false },
    log: { type: "boolean", default: false },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`Invalid --port ${values.port}`);
  process.exit(2);
}

const emu = await startEmulator({ port, host: values.host, logger: values.log });
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

const stop = async () => {
  await emu.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
