/**
 * Bulk mutations: the JSONL of variables (one line per call) uploaded through
 * `stagedUploadsCreate` (resource BULK_MUTATION_VARIABLES, a multipart POST of the target's
 * parameters then the file), then `bulkOperationRunMutation` with the upload's key. Its status is
 * read with `bulkOperation(id:)` (bulk-query.ts); each line of the result file is
 * `{"data": …, "__lineNumber": n}` (or `errors`) for input line n.
 */
import { ShopifyQueryError, ShopifyTransientError } from "./errors.ts";
import { graphql } from "./graphql.ts";
import type { AdminTransport } from "./transport.ts";

export const STAGED_UPLOADS_CREATE = graphql`
  mutation TillbridgeStagedUpload($input: [StagedUploadInput!]!) {
    stagedUploadsCreate(input: $input) {
      stagedTargets {
        url
        parameters {
          name
          value
        }
      }
      userErrors {
        field
        message
      }
    }
  }
`;

export const RUN_BULK_MUTATION = graphql`
  mutation TillbridgeRunBulkMutation($mutation: String!, $stagedUploadPath: String!, $clientIdentifier: String) {
    bulkOperationRunMutation(
      mutation: $mutation
      stagedUploadPath: $stagedUploadPath
      clientIdentifier: $clientIdentifier
    ) {
      bulkOperation {
        id
        status
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

/** Uploads the variables of a bulk mutation; returns the staged upload path (the `key`). */
export async function uploadBulkVariables(
  transport: AdminTransport,
  lines: readonly unknown[],
  doFetch: typeof fetch = fetch,
): Promise<string> {
  const filename = "bulk-variables.jsonl";
  const staged = await transport.graphql<{
    stagedUploadsCreate: {
      stagedTargets: { url: string; parameters: { name: string; value: string }[] }[] | null;
      userErrors: { field: string[] | null; message: string }[];
    };
  }>(STAGED_UPLOADS_CREATE, {
    input: [{ resource: "BULK_MUTATION_VARIABLES", filename, mimeType: "text/jsonl", httpMethod: "POST" }],
  });
  const target = staged.data.stagedUploadsCreate.stagedTargets?.[0];
  if (!target)
    throw new ShopifyQueryError(
      `Shopify refused the staged upload: ${staged.data.stagedUploadsCreate.userErrors.map((e) => e.message).join("; ")}`,
      transport.store,
      [],
    );
  const key = target.parameters.find((p) => p.name === "key")?.value;
  if (!key) throw new ShopifyQueryError("the staged upload target has no key", transport.store, []);
  const form = new FormData();
  for (const p of target.parameters) form.append(p.name, p.value);
  form.append(
    "file",
    new Blob([lines.map((l) => JSON.stringify(l)).join("\n")], { type: "text/jsonl" }),
    filename,
  );
  let res: Response;
  try {
    res = await doFetch(target.url, { method: "POST", body: form });
  } catch (e) {
    throw new ShopifyTransientError(
      `Uploading the bulk variables failed: ${(e as Error).message}`,
      transport.store,
      undefined,
      {
        cause: e,
      },
    );
  }
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok)
    throw new ShopifyTransientError(
      `Uploading the bulk variables answered HTTP ${res.status}`,
      transport.store,
      res.status,
    );
  return key;
}

export type StartResult =
  | { readonly ok: true; readonly id: string }
  | { readonly ok: false; readonly code: string | null; readonly message: string };

/** Starts the bulk mutation; a refusal (another one in progress, a bad document) is returned. */
export async function startBulkMutation(
  transport: AdminTransport,
  mutation: string,
  stagedUploadPath: string,
  clientIdentifier?: string,
): Promise<StartResult> {
  const r = await transport.graphql<{
    bulkOperationRunMutation: {
      bulkOperation: { id: string; status: string } | null;
      userErrors: { field: string[] | null; message: string; code: string | null }[];
    };
  }>(RUN_BULK_MUTATION, { mutation, stagedUploadPath, clientIdentifier: clientIdentifier ?? null });
  const p = r.data.bulkOperationRunMutation;
  if (!p.bulkOperation || p.userErrors.length > 0)
    return {
      ok: false,
      code: p.userErrors[0]?.code ?? null,
      message: p.userErrors.map((e) => e.message).join("; ") || "no operation",
    };
  return { ok: true, id: p.bulkOperation.id };
}
