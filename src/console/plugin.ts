/**
 * The operator's console: static files (no build step) that call the same /api/v1 endpoints as
 * the back office, with an API key the operator pastes once per browser session.
 */
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

export async function consolePlugin(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, {
    root: join(import.meta.dirname, "public"),
    prefix: "/console/",
    index: "index.html",
  });
  app.get("/", async (_request, reply) => reply.redirect("/console/"));
  app.get("/console", async (_request, reply) => reply.redirect("/console/"));
}
