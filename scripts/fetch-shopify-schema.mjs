#!/usr/bin/env node
// Fetches Shopify's real Admin GraphQL schema (an introspection result) from the npm package
// @shopify/dev-mcp without installing it (the package pulls in Shopify's whole CLI): `npm pack`
// downloads the tarball and we extract the one file we need. Runs on `npm install`; cached.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE = "@shopify/dev-mcp@1.16.0";
const API_VERSION = "2026-10";
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "vendor", "shopify", `admin_${API_VERSION}.json.gz`);

if (existsSync(target)) process.exit(0);
mkdirSync(dirname(target), { recursive: true });
const work = mkdtempSync(join(tmpdir(), "tillbridge-schema-"));
try {
  const out = execFileSync("npm", ["pack", PACKAGE, "--silent", "--pack-destination", work], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const tarball = join(work, out.trim().split("\n").pop());
  const inner = `package/dist/data/admin_${API_VERSION}.json.gz`;
  execFileSync("tar", ["-xzf", tarball, "-C", work, inner], { stdio: "inherit" });
  renameSync(join(work, inner), target);
  console.log(`tillbridge: Shopify Admin schema ${API_VERSION} saved to ${target}`);
} catch (err) {
  console.error(`tillbridge: could not fetch the Shopify Admin schema from ${PACKAGE}: ${err.message}`);
  process.exit(1);
} finally {
  rmSync(work, { recursive: true, force: true });
}
