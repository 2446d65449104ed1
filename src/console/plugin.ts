/**
 * The operator's console: a Preact app (console/ at the repo root) built by Vite into
 * dist/console during `npm install` (`npm run build:console`), served here at /console/. It signs
 * operators in with a session cookie and calls the same /api/v1 endpoints as the back office.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/** Where `npm run build:console` writes the console. */
export const CONSOLE_DIST = resolve(import.meta.dirname, "../../dist/console");

export const CONSOLE_MISSING =
  "The operator console is not built: run `npm run build:console` (npm install runs it) and restart the hub.";

export async function consolePlugin(app: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? CONSOLE_DIST;
  app.get("/", async (_request, reply) => reply.redirect("/console/"));
  app.get("/console", async (_request, reply) => reply.redirect("/console/"));
  if (!existsSync(join(root, "index.html"))) {
    app.log.warn({ root }, CONSOLE_MISSING);
    const missing = async (_request: unknown, reply: import("fastify").FastifyReply) =>
      reply.code(503).type("text/plain; charset=utf-8").send(`${CONSOLE_MISSING}\n(looked in ${root})\n`);
    app.get("/console/", missing);
    app.get("/console/*", missing);
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: "/console/",
    index: "index.html",
    // Hashed file names under assets/ never change; index.html must be re-read after an upgrade.
    cacheControl: false,
    setHeaders(reply: { header(name: string, value: string): unknown }, path: string) {
      reply.header(
        "cache-control",
        path.includes(join("console", "assets")) ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
}
