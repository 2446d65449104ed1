/**
 * Tag for every GraphQL document the hub sends to Shopify. It returns the text unchanged; its
 * purpose is to be findable: test/shopify-operations.test.ts collects every graphql`…` in src/
 * and validates it against Shopify's real Admin schema. Interpolation is not allowed, so what
 * the test validates is exactly what is sent.
 */
export function graphql(strings: TemplateStringsArray, ...values: never[]): string {
  if (values.length > 0) throw new Error("graphql`…` documents must not interpolate values; use variables");
  return strings.raw.join("");
}
