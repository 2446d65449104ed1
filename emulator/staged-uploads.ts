// Staged uploads (issue 16): the target stagedUploadsCreate hands out is this emulator's own
// HTTP server. `POST /_emulator/staged-uploads` takes the multipart form Shopify's storage takes
// (the target's parameters, then `file`) and answers 201 as Shopify's does with
// success_action_status=201; the file is kept under its `key` (the bulk mutation's
// stagedUploadPath) in the emulator's folder of bulk files, deleted with it on close.
import { writeFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { resultFile } from "./bulk-files.ts";
import type { Store } from "./state.ts";

const filesByStore = new WeakMap<Store, Map<string, string>>();

/** The file uploaded under `key`, if any. */
export function stagedFile(store: Store, key: string): string | undefined {
  return filesByStore.get(store)?.get(key);
}

export function registerStagedUploads(app: FastifyInstance, store: Store): void {
  void app.register(async (scope) => {
    // The multipart body is read whole and parsed by the platform's own form-data reader.
    scope.addContentTypeParser("multipart/form-data", { parseAs: "buffer" }, (_req, body, done) =>
      done(null, body),
    );
    scope.post("/_emulator/staged-uploads", { bodyLimit: 512 * 1024 * 1024 }, async (req, reply) => {
      const form = await new Response(new Uint8Array(req.body as Buffer), {
        headers: { "content-type": String(req.headers["content-type"]) },
      })
        .formData()
        .catch(() => null);
      const key = form?.get("key");
      const file = form?.get("file");
      if (typeof key !== "string" || !key || file === null || file === undefined || typeof file === "string")
        return reply
          .status(400)
          .type("application/xml")
          .send(
            "<Error><Code>InvalidArgument</Code><Message>a key and a file are required</Message></Error>",
          );
      let files = filesByStore.get(store);
      if (!files) {
        files = new Map();
        filesByStore.set(store, files);
      }
      const path = resultFile(store, "staged", store.nextId());
      writeFileSync(path, Buffer.from(await file.arrayBuffer()));
      files.set(key, path);
      return reply
        .status(201)
        .type("application/xml")
        .send(`<PostResponse><Key>${key.replace(/[<>&]/g, "")}</Key></PostResponse>`);
    });
  });
}
