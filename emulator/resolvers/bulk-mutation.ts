// Bulk mutations (issue 16): stagedUploadsCreate hands out an upload target on the emulator's own
// HTTP server (emulator/staged-uploads.ts keeps the uploaded files), bulkOperationRunMutation runs
// the mutation once per line of the uploaded JSONL (each line the variables of one call) and
// writes Shopify's result file: one line per input line, `{"data": …, "__lineNumber": n}` or
// `{"errors": […], "__lineNumber": n}`. Lines run outside the store's cost bucket (as Shopify's
// do), the event loop free between slices. One bulk mutation at a time per shop and app
// (OPERATION_IN_PROGRESS); NO_SUCH_FILE for an unknown upload; INVALID_MUTATION for a document
// that is not exactly one mutation field valid against the schema.
import { randomUUID } from "node:crypto";
import { createReadStream, rmSync } from "node:fs";
import { open, stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { type DocumentNode, execute, Kind, type OperationDefinitionNode, parse, validate } from "graphql";
import { makeFieldResolver, typeResolver } from "../admin-api.ts";
import { resultFile } from "../bulk-files.ts";
import { gid } from "../gid.ts";
import { adminSchema } from "../schema.ts";
import { stagedFile } from "../staged-uploads.ts";
import type { BulkOperation } from "../state.ts";
import { allResolvers } from "./index.ts";
import { type Ctx, type ResolverMap, userError } from "./kit.ts";

type MutationOp = BulkOperation & { type?: "MUTATION" };

/** Lines executed per turn of the event loop. */
const LINES_PER_SLICE = 50;

function stagedUploadsCreate(
  ctx: Ctx,
  args: { input: { resource: string; filename: string; mimeType: string; httpMethod?: string | null }[] },
) {
  const stagedTargets = args.input.map((i) => {
    const key = `tmp/${ctx.shop.domain}/bulk/${randomUUID()}/${i.filename}`;
    return {
      url: `${ctx.baseUrl}/_emulator/staged-uploads`,
      resourceUrl:
        i.resource === "BULK_MUTATION_VARIABLES" ? null : `${ctx.baseUrl}/_emulator/staged-uploads/${key}`,
      parameters: [
        { name: "Content-Type", value: i.mimeType },
        { name: "success_action_status", value: "201" },
        { name: "acl", value: "private" },
        { name: "key", value: key },
      ],
    };
  });
  return { stagedTargets, userErrors: [] };
}

function fail(message: string, field: string[] | null, code: string) {
  return { bulkOperation: null, userErrors: [userError(message, field, code)] };
}

function runMutation(
  ctx: Ctx,
  args: { mutation: string; stagedUploadPath: string; clientIdentifier?: string | null },
) {
  const schema = adminSchema();
  let doc: DocumentNode;
  try {
    doc = parse(args.mutation);
  } catch (e) {
    return fail(`Failed to parse the mutation - ${(e as Error).message}`, ["mutation"], "INVALID_MUTATION");
  }
  const errors = validate(schema, doc);
  const ops = doc.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const op = ops[0];
  if (errors.length > 0)
    return fail(`Failed to parse the mutation - ${errors[0]!.message}`, ["mutation"], "INVALID_MUTATION");
  if (ops.length !== 1 || op?.operation !== "mutation" || op.selectionSet.selections.length !== 1)
    return fail("Bulk mutations must have exactly one mutation field.", ["mutation"], "INVALID_MUTATION");
  const file = stagedFile(ctx.store, args.stagedUploadPath);
  if (!file) return fail("The staged upload file does not exist.", ["stagedUploadPath"], "NO_SUCH_FILE");
  const running = [...ctx.shop.bulkOperations.values()].some(
    (b) =>
      b.appId === ctx.app.id &&
      (b as MutationOp).type === "MUTATION" &&
      (b.status === "CREATED" || b.status === "RUNNING"),
  );
  if (running)
    return fail(
      "A bulk mutation operation for this app and shop is already in progress.",
      null,
      "OPERATION_IN_PROGRESS",
    );
  const bulk: MutationOp = {
    id: ctx.store.nextId(),
    appId: ctx.app.id,
    query: args.mutation,
    type: "MUTATION",
    status: "CREATED",
    errorCode: null,
    errorMessage: null,
    objectCount: 0,
    rootObjectCount: 0,
    fileSize: null,
    file: null,
    createdAt: ctx.now,
    completedAt: null,
  };
  ctx.shop.bulkOperations.set(bulk.id, bulk);
  setImmediate(() => {
    run(ctx, bulk, doc, file).catch((e: unknown) => {
      bulk.status = "FAILED";
      bulk.errorMessage = String(e);
      bulk.errorCode = "INTERNAL_SERVER_ERROR";
    });
  });
  return { bulkOperation: { ...bulk }, userErrors: [] };
}

async function run(ctx: Ctx, bulk: MutationOp, document: DocumentNode, input: string): Promise<void> {
  bulk.status = "RUNNING";
  const schema = adminSchema();
  const fieldResolver = makeFieldResolver(allResolvers(), schema);
  const path = resultFile(ctx.store, ctx.shop.domain, bulk.id);
  const out = await open(path, "w");
  let text = "";
  let n = 0;
  try {
    const lines = createInterface({ input: createReadStream(input), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const raw of lines) {
      if (!raw.trim()) continue;
      const lineNumber = n++;
      let variables: unknown;
      try {
        variables = JSON.parse(raw);
      } catch {
        variables = undefined;
      }
      if (!variables || typeof variables !== "object" || Array.isArray(variables)) {
        text += `${JSON.stringify({ errors: [{ message: "Each line must be a JSON object of the mutation's variables" }], __lineNumber: lineNumber })}\n`;
        continue;
      }
      const result = await Promise.resolve(
        execute({
          schema,
          document,
          variableValues: variables as Record<string, unknown>,
          contextValue: { ...ctx, bulk: false, now: ctx.store.nowIso() },
          fieldResolver,
          typeResolver,
        }),
      ).catch((e: unknown) => ({ errors: [{ message: String(e) }], data: undefined }));
      const line = result.errors?.length
        ? { errors: result.errors.map((e) => ({ message: e.message })), __lineNumber: lineNumber }
        : { data: result.data, __lineNumber: lineNumber };
      text += `${JSON.stringify(line)}\n`;
      if (n % LINES_PER_SLICE === 0) {
        await out.write(text);
        text = "";
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    if (text) await out.write(text);
    await out.close();
    bulk.file = path;
    bulk.objectCount = n;
    bulk.rootObjectCount = n;
    bulk.fileSize = (await stat(path)).size;
    bulk.status = "COMPLETED";
  } catch (e) {
    await out.close().catch(() => {});
    rmSync(path, { force: true });
    bulk.status = "FAILED";
    bulk.errorCode = "INTERNAL_SERVER_ERROR";
    bulk.errorMessage = String(e);
  }
  bulk.completedAt = ctx.store.nowIso();
  ctx.store.emit(ctx.shop, "bulk_operations/finish", {
    admin_graphql_api_id: gid("BulkOperation", bulk.id),
    completed_at: bulk.completedAt,
    created_at: bulk.createdAt,
    error_code: bulk.errorCode ? bulk.errorCode.toLowerCase() : null,
    status: bulk.status.toLowerCase(),
    type: "mutation",
  });
}

export const bulkMutationResolvers: ResolverMap = {
  Mutation: {
    stagedUploadsCreate: (_s, args, ctx) => stagedUploadsCreate(ctx, args),
    bulkOperationRunMutation: (_s, args, ctx) => runMutation(ctx, args),
  },
  StagedUploadsCreatePayload: { stagedTargets: (p) => p.stagedTargets, userErrors: (p) => p.userErrors },
  StagedMediaUploadTarget: {
    url: (t) => t.url,
    resourceUrl: (t) => t.resourceUrl,
    parameters: (t) => t.parameters,
  },
  StagedUploadParameter: { name: (p) => p.name, value: (p) => p.value },
  BulkOperationRunMutationPayload: { bulkOperation: (p) => p.bulkOperation, userErrors: (p) => p.userErrors },
  BulkOperation: {
    type: (b: MutationOp) => b.type ?? "QUERY",
  },
};
