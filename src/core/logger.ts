/**
 * pino, with secrets and personal data redacted wherever they might appear in a log object.
 * Scope loggers to the unit of work: `logger.child({ store, flow, run })`.
 */
import { type Logger, pino } from "pino";

const REDACT = [
  "req.headers.authorization",
  "req.headers['x-shopify-access-token']",
  "*.accessToken",
  "*.access_token",
  "*.refreshToken",
  "*.refresh_token",
  "*.token",
  "*.apiKey",
  "*.key",
  "*.secret",
  "*.password",
  "*.email",
  "*.phone",
  "*.firstName",
  "*.lastName",
  "*.first_name",
  "*.last_name",
  "*.address",
  "*.address1",
  "*.address2",
  "*.billingAddress",
  "*.shippingAddress",
  "*.billing_address",
  "*.shipping_address",
  "*.customer",
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, redact: { paths: REDACT, censor: "[redacted]" }, base: { service: "tillbridge" } },
    destination,
  );
}

export type { Logger };
