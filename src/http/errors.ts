/** Maps every failure to the one error envelope: { error: { code, message, details } }. */
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ZodError } from "zod";
import { AppError, type ErrorDetail } from "../core/errors.ts";

export interface ErrorEnvelope {
  error: { code: string; message: string; details: readonly ErrorDetail[] };
}

export function zodDetails(error: ZodError, prefix = ""): ErrorDetail[] {
  return error.issues.map((i) => ({
    path:
      [prefix, ...i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))]
        .join("")
        .replace(/^\./, "") || "(body)",
    code:
      i.code === "invalid_type" && /received undefined/.test(i.message) ? "MISSING_FIELD" : "INVALID_FIELD",
    message: i.message,
  }));
}

export function toAppError(err: unknown, where: "body" | "query" | "params" = "body"): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) {
    return new AppError(
      "INVALID_REQUEST",
      `the request ${where} is invalid: ${err.issues.length} problem(s), see details`,
      zodDetails(err, where === "body" ? "" : where),
    );
  }
  const fe = err as FastifyError;
  switch (fe.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AppError(
        "PAYLOAD_TOO_LARGE",
        "the request body is larger than this server accepts (MAX_BODY_BYTES); send smaller batches",
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new AppError(
        "UNSUPPORTED_CONTENT_TYPE",
        "send the body as JSON with Content-Type: application/json",
      );
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new AppError("INVALID_JSON", "the body is empty; send a JSON document");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new AppError("INVALID_JSON", `the body is not valid JSON: ${fe.message}`);
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new AppError(
        "INVALID_REQUEST",
        "the Content-Length header does not match the body that was sent",
        [],
        { status: 400 },
      );
    case "FST_ERR_CTP_INVALID_CHARSET":
    case "FST_ERR_CTP_INVALID_TYPE":
      return new AppError(
        "UNSUPPORTED_CONTENT_TYPE",
        "send the body as UTF-8 JSON with Content-Type: application/json",
      );
    case "FST_ERR_BAD_URL":
      return new AppError(
        "INVALID_REQUEST",
        "the URL is malformed (a path parameter is not valid percent-encoding); encode ids with encodeURIComponent",
      );
    case "FST_ERR_ASYNC_CONSTRAINT":
      return new AppError("INVALID_REQUEST", "the request does not match any route's constraints");
  }
  if (err instanceof SyntaxError && (fe.statusCode === 400 || /JSON/.test(err.message))) {
    return new AppError("INVALID_JSON", `the body is not valid JSON: ${err.message}`);
  }
  if (fe.statusCode === 405) return new AppError("METHOD_NOT_ALLOWED", fe.message);
  if (typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new AppError("INVALID_REQUEST", fe.message, [], { status: fe.statusCode });
  }
  return new AppError("INTERNAL", "an unexpected error occurred; the hub's log has the details", [], {
    cause: err,
  });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown) {
  const appError = toAppError(err);
  if (appError.code === "INTERNAL") request.log.error({ err }, "unhandled error");
  else request.log.info({ code: appError.code, status: appError.status }, appError.message);
  const body: ErrorEnvelope = {
    error: { code: appError.code, message: appError.message, details: appError.details },
  };
  return reply.code(appError.status).type("application/json").send(body);
}
