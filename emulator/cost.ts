// Shopify's calculated query cost for the GraphQL Admin API. Pure: document + variables in, number out.
//
// The documented table (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits, "Cost
// calculation"): scalars and enums 0, objects 1, interfaces and unions the maximum of their possible
// selections, connections "sized by first and last arguments", mutations 10; one query at most 1,000.
// How a connection is sized: Shopify staff said they "incorporate logarithmic scaling into connection
// fields" (https://community.shopify.dev/t/how-to-calculate-graphql-cost-estimates/24364); the
// multiplier floor(2 × ln(max(2, n))) reproduces every published figure we have (first: 250 → 11,
// so `product { variants(first: 250) { nodes { inventoryItem { id } } } }` costs 1 + 2 + 11 × 2 = 25,
// https://community.shopify.dev/t/unexpectedly-low-graphql-query-cost-in-shopify-admin-api-seeking-clarification/23101).
// A connection costs 2 + multiplier × (cost of one node); nested connections multiply; `pageInfo` is
// free. The old linear rule (2 + first × node) over-charged a 250 × 250 nested read 400-fold.
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  valueFromASTUntyped,
} from "graphql";

export const MAX_QUERY_COST = 1000;
export const MUTATION_COST = 10;
const CONNECTION_BASE = 2;

/** How many nodes a page of `n` is charged as: floor(2 ln(max(2, n))), 0 for an empty page. */
export function connectionMultiplier(n: number): number {
  if (!(n > 0)) return 0;
  return Math.floor(2 * Math.log(Math.max(2, Math.min(n, 250))));
}

type Vars = Record<string, unknown>;

interface Ctx {
  schema: GraphQLSchema;
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Vars;
  /** When set, every field's cost is recorded here (the `X-GraphQL-Cost-Include-Fields` breakdown). */
  fields?: CostField[];
  path: string[];
}

/** One entry of Shopify's `extensions.cost.fields` (rate-limits page, "GraphQL response"). */
export interface CostField {
  path: string[];
  definedCost: number;
  requestedTotalCost: number;
  requestedChildrenCost: number | null;
}

function record(ctx: Ctx, entry: Omit<CostField, "path">): void {
  ctx.fields?.push({ path: [...ctx.path], ...entry });
}

export function findOperation(
  doc: DocumentNode,
  operationName?: string | null,
): OperationDefinitionNode | undefined {
  const ops = doc.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  if (operationName) return ops.find((o) => o.name?.value === operationName);
  return ops.length === 1 ? ops[0] : undefined;
}

function fragmentsOf(doc: DocumentNode): Map<string, FragmentDefinitionNode> {
  const m = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) m.set(d.name.value, d);
  return m;
}

/** A connection in Shopify's sense: a *Connection type with edges/nodes, paged by first/last. */
export function isConnectionType(t: GraphQLNamedType): boolean {
  if (!isObjectType(t) || !t.name.endsWith("Connection")) return false;
  const f = t.getFields();
  return "edges" in f || "nodes" in f;
}

function argValue(field: FieldNode, name: string, vars: Vars): unknown {
  const a = field.arguments?.find((x) => x.name.value === name);
  if (!a) return undefined;
  return valueFromASTUntyped(a.value, vars);
}

function fieldDef(parent: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined {
  if (!isObjectType(parent) && !isInterfaceType(parent)) return undefined;
  return parent.getFields()[name];
}

/** Fields selected on `parent`, with inline fragments and spreads narrowed to other types kept apart. */
function splitSelections(
  ctx: Ctx,
  parent: GraphQLNamedType,
  sel: SelectionSetNode,
  base: FieldNode[],
  narrowed: Map<string, FieldNode[]>,
  seen: Set<string> = new Set(),
): void {
  for (const s of sel.selections) {
    if (s.kind === Kind.FIELD) base.push(s);
    else {
      let typeName: string | undefined;
      let inner: SelectionSetNode | undefined;
      if (s.kind === Kind.INLINE_FRAGMENT) {
        typeName = s.typeCondition?.name.value;
        inner = s.selectionSet;
      } else {
        if (seen.has(s.name.value)) continue;
        seen.add(s.name.value);
        const frag = ctx.fragments.get(s.name.value);
        if (!frag) continue;
        typeName = frag.typeCondition.name.value;
        inner = frag.selectionSet;
      }
      const condType = typeName ? ctx.schema.getType(typeName) : undefined;
      if (!condType || condType === parent || !isAbstractType(parent) || isAbstractType(condType)) {
        splitSelections(ctx, parent, inner, base, narrowed, seen);
      } else {
        const list = narrowed.get(condType.name) ?? [];
        narrowed.set(condType.name, list);
        splitSelections(ctx, condType, inner, list, new Map(), seen);
      }
    }
  }
}

function selectionCost(ctx: Ctx, parent: GraphQLNamedType, sel: SelectionSetNode | undefined): number {
  if (!sel) return 0;
  const base: FieldNode[] = [];
  const narrowed = new Map<string, FieldNode[]>();
  splitSelections(ctx, parent, sel, base, narrowed);
  let total = 0;
  for (const f of base) total += fieldCost(ctx, parent, f);
  let worst = 0;
  for (const [typeName, fields] of narrowed) {
    const t = ctx.schema.getType(typeName)!;
    let c = 0;
    for (const f of fields) c += fieldCost(ctx, t, f);
    worst = Math.max(worst, c);
  }
  return total + worst;
}

function unwrapList(t: GraphQLOutputType): boolean {
  const inner = isNonNullType(t) ? t.ofType : t;
  return isListType(inner);
}

/** Cost of one node of a connection: 1 for the object plus what is selected inside it. */
function connectionNodeCost(ctx: Ctx, conn: GraphQLNamedType, field: FieldNode): number {
  if (!isObjectType(conn)) return 0;
  const fields = conn.getFields();
  const nodeType = fields["nodes"] ? getNamedType(fields["nodes"].type) : undefined;
  let cost = 0;
  for (const s of collectPlainFields(ctx, field.selectionSet)) {
    if (s.name.value === "nodes" && nodeType) {
      ctx.path.push(s.alias?.value ?? "nodes");
      cost = Math.max(cost, 1 + selectionCost(ctx, nodeType, s.selectionSet));
      ctx.path.pop();
    }
    if (s.name.value === "edges" && fields["edges"]) {
      const edgeType = getNamedType(fields["edges"].type);
      ctx.path.push(s.alias?.value ?? "edges");
      for (const e of collectPlainFields(ctx, s.selectionSet)) {
        if (e.name.value === "node" && isObjectType(edgeType)) {
          const nt = getNamedType(edgeType.getFields()["node"]!.type);
          ctx.path.push(e.alias?.value ?? "node");
          cost = Math.max(cost, 1 + selectionCost(ctx, nt, e.selectionSet));
          ctx.path.pop();
        }
      }
      ctx.path.pop();
    }
  }
  return cost;
}

/** Fields of a selection set on a concrete type, fragments flattened. */
function collectPlainFields(ctx: Ctx, sel: SelectionSetNode | undefined, out: FieldNode[] = []): FieldNode[] {
  if (!sel) return out;
  for (const s of sel.selections) {
    if (s.kind === Kind.FIELD) out.push(s);
    else if (s.kind === Kind.INLINE_FRAGMENT) collectPlainFields(ctx, s.selectionSet, out);
    else {
      const frag = ctx.fragments.get(s.name.value);
      if (frag) collectPlainFields(ctx, frag.selectionSet, out);
    }
  }
  return out;
}

function pageSize(ctx: Ctx, field: FieldNode): number {
  const first = argValue(field, "first", ctx.variables);
  const last = argValue(field, "last", ctx.variables);
  const n = typeof first === "number" ? first : typeof last === "number" ? last : 0;
  return Math.max(0, n);
}

function fieldCost(ctx: Ctx, parent: GraphQLNamedType, field: FieldNode): number {
  if (field.name.value.startsWith("__")) return 0;
  const def = fieldDef(parent, field.name.value);
  if (!def) return 0;
  ctx.path.push(field.alias?.value ?? field.name.value);
  try {
    const named = getNamedType(def.type);
    if (isLeafType(named)) {
      record(ctx, { definedCost: 0, requestedTotalCost: 0, requestedChildrenCost: null });
      return 0;
    }
    if (isConnectionType(named)) {
      const children = connectionMultiplier(pageSize(ctx, field)) * connectionNodeCost(ctx, named, field);
      record(ctx, {
        definedCost: CONNECTION_BASE,
        requestedTotalCost: CONNECTION_BASE + children,
        requestedChildrenCost: children,
      });
      return CONNECTION_BASE + children;
    }
    if (named.name === "PageInfo") {
      record(ctx, { definedCost: 0, requestedTotalCost: 0, requestedChildrenCost: 0 });
      return 0;
    }
    const children = selectionCost(ctx, named, field.selectionSet);
    let total = 1 + children;
    // A plain list of objects paged by `first` (e.g. Order.fulfillments(first:)) is sized like a connection.
    if (unwrapList(def.type) && def.args.some((a) => a.name === "first")) {
      const n = pageSize(ctx, field);
      if (n > 0) total = connectionMultiplier(n) * total;
    }
    record(ctx, { definedCost: 1, requestedTotalCost: total, requestedChildrenCost: total - 1 });
    return total;
  } finally {
    ctx.path.pop();
  }
}

/** The requested (worst case) cost of the operation, charged before execution. */
export function requestedCost(
  schema: GraphQLSchema,
  doc: DocumentNode,
  op: OperationDefinitionNode,
  variables: Vars = {},
  fields?: CostField[],
): number {
  const ctx: Ctx = {
    schema,
    fragments: fragmentsOf(doc),
    variables,
    path: [],
    ...(fields ? { fields } : {}),
  };
  if (op.operation === "mutation") {
    const roots = collectPlainFields(ctx, op.selectionSet).filter((f) => !f.name.value.startsWith("__"));
    for (const f of roots)
      fields?.push({
        path: [f.alias?.value ?? f.name.value],
        definedCost: MUTATION_COST,
        requestedTotalCost: MUTATION_COST,
        requestedChildrenCost: 0,
      });
    return roots.length * MUTATION_COST;
  }
  const root = op.operation === "query" ? schema.getQueryType() : schema.getSubscriptionType();
  if (!root) return 0;
  return selectionCost(ctx, root, op.selectionSet);
}

// ---- actual cost: the same rules applied to what was returned ----

function actualSelectionCost(
  ctx: Ctx,
  parent: GraphQLNamedType,
  sel: SelectionSetNode | undefined,
  data: unknown,
): number {
  if (!sel || data === null || typeof data !== "object") return 0;
  const obj = data as Record<string, unknown>;
  const byKey = new Map<string, { field: FieldNode; type: GraphQLNamedType }>();
  const typename = typeof obj["__typename"] === "string" ? (obj["__typename"] as string) : undefined;
  const walk = (t: GraphQLNamedType, s: SelectionSetNode) => {
    for (const x of s.selections) {
      if (x.kind === Kind.FIELD) {
        const key = x.alias?.value ?? x.name.value;
        if (key in obj && !byKey.has(key)) byKey.set(key, { field: x, type: t });
      } else {
        const cond =
          x.kind === Kind.INLINE_FRAGMENT
            ? x.typeCondition?.name.value
            : ctx.fragments.get(x.name.value)?.typeCondition.name.value;
        const inner =
          x.kind === Kind.INLINE_FRAGMENT ? x.selectionSet : ctx.fragments.get(x.name.value)?.selectionSet;
        if (!inner) continue;
        const ct = cond ? ctx.schema.getType(cond) : undefined;
        if (ct && typename && !isAbstractType(ct) && ct.name !== typename) continue;
        walk(ct && !isAbstractType(ct) ? ct : t, inner);
      }
    }
  };
  walk(parent, sel);
  let total = 0;
  for (const [key, { field, type }] of byKey) total += actualFieldCost(ctx, type, field, obj[key]);
  return total;
}

/**
 * What the nodes a connection returned are charged: the connection multiplier of how many came back
 * times the dearest of them (so the actual cost never exceeds the requested one for the same page).
 */
function sized(costs: number[]): number {
  if (costs.length === 0) return 0;
  return connectionMultiplier(costs.length) * Math.max(...costs);
}

function actualFieldCost(ctx: Ctx, parent: GraphQLNamedType, field: FieldNode, value: unknown): number {
  const def = fieldDef(parent, field.name.value);
  if (!def || value === undefined) return 0;
  const named = getNamedType(def.type);
  if (isLeafType(named)) return 0;
  // A lookup that found nothing still cost its object (Shopify answered actualQueryCost 1 for a null `product`).
  if (value === null) return isConnectionType(named) || unwrapList(def.type) ? 0 : 1;
  if (isConnectionType(named) && isObjectType(named)) {
    const conn = value as Record<string, unknown>;
    let nodesCost = 0;
    for (const s of collectPlainFields(ctx, field.selectionSet)) {
      const key = s.alias?.value ?? s.name.value;
      const v = conn[key];
      if (s.name.value === "nodes" && Array.isArray(v)) {
        const nt = getNamedType(named.getFields()["nodes"]!.type);
        const costs: number[] = [];
        for (const n of v) if (n !== null) costs.push(1 + actualSelectionCost(ctx, nt, s.selectionSet, n));
        nodesCost = Math.max(nodesCost, sized(costs));
      }
      if (s.name.value === "edges" && Array.isArray(v)) {
        const edgeType = getNamedType(named.getFields()["edges"]!.type);
        if (!isObjectType(edgeType)) continue;
        const nt = getNamedType(edgeType.getFields()["node"]!.type);
        const costs: number[] = [];
        for (const e of v as Record<string, unknown>[]) {
          let c = 0;
          let any = false;
          for (const en of collectPlainFields(ctx, s.selectionSet)) {
            if (en.name.value !== "node") continue;
            const n = e?.[en.alias?.value ?? "node"];
            if (n === null || n === undefined) continue;
            any = true;
            c += 1 + actualSelectionCost(ctx, nt, en.selectionSet, n);
          }
          if (any) costs.push(c);
        }
        nodesCost = Math.max(nodesCost, sized(costs));
      }
    }
    return CONNECTION_BASE + nodesCost;
  }
  if (named.name === "PageInfo") return 0;
  if (Array.isArray(value)) {
    const costs: number[] = [];
    for (const v of value)
      if (v !== null) costs.push(1 + actualSelectionCost(ctx, named, field.selectionSet, v));
    // Paged lists are sized like connections; other lists (taxLines) count each object.
    if (def.args.some((a) => a.name === "first")) return sized(costs);
    return costs.reduce((a, b) => a + b, 0);
  }
  return 1 + actualSelectionCost(ctx, named, field.selectionSet, value);
}

/** The actual cost, from the data that was returned (never above the requested cost). */
export function actualCost(
  schema: GraphQLSchema,
  doc: DocumentNode,
  op: OperationDefinitionNode,
  variables: Vars,
  data: unknown,
): number {
  const ctx: Ctx = { schema, fragments: fragmentsOf(doc), variables, path: [] };
  if (op.operation === "mutation") return requestedCost(schema, doc, op, variables);
  const root = schema.getQueryType();
  if (!root) return 0;
  return actualSelectionCost(ctx, root, op.selectionSet, data);
}
