// The checks Shopify makes on a bulk query before it runs (shopify.dev/docs/api/usage/bulk-operations/queries,
// "Operation restrictions"): at most five connections, connections nested at most two levels deep,
// no top-level `node`/`nodes`, the parent node of a nested connection selects `id`, no connection
// inside a list field, at least one connection. Messages as Shopify's userErrors (code INVALID).
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type SelectionSetNode,
} from "graphql";
import { isConnectionType } from "./cost.ts";

export const BULK_MAX_CONNECTIONS = 5;
export const BULK_MAX_CONNECTION_DEPTH = 2;

interface Walk {
  schema: GraphQLSchema;
  fragments: Map<string, FragmentDefinitionNode>;
  connections: number;
  deepest: number;
  withoutParentId: string[];
  inList: boolean;
}

function fieldsOf(w: Walk, sel: SelectionSetNode | undefined, out: FieldNode[] = []): FieldNode[] {
  if (!sel) return out;
  for (const s of sel.selections) {
    if (s.kind === Kind.FIELD) out.push(s);
    else if (s.kind === Kind.INLINE_FRAGMENT) fieldsOf(w, s.selectionSet, out);
    else {
      const f = w.fragments.get(s.name.value);
      if (f) fieldsOf(w, f.selectionSet, out);
    }
  }
  return out;
}

function typeField(t: GraphQLNamedType, name: string) {
  return isObjectType(t) || isInterfaceType(t) ? t.getFields()[name] : undefined;
}

/** The node selections of a connection field: `edges { node { … } }` and `nodes { … }`. */
function nodeSelections(w: Walk, conn: FieldNode): FieldNode[] {
  const out: FieldNode[] = [];
  for (const f of fieldsOf(w, conn.selectionSet)) {
    if (f.name.value === "nodes") out.push(f);
    if (f.name.value === "edges")
      for (const e of fieldsOf(w, f.selectionSet)) if (e.name.value === "node") out.push(e);
  }
  return out;
}

function walk(
  w: Walk,
  parent: GraphQLNamedType,
  sel: SelectionSetNode | undefined,
  depth: number,
  listDepth: number,
  path: string,
): void {
  for (const f of fieldsOf(w, sel)) {
    const def = typeField(parent, f.name.value);
    if (!def) continue;
    const named = getNamedType(def.type);
    const inner = isNonNullType(def.type) ? def.type.ofType : def.type;
    const name = path ? `${path}.${f.name.value}` : f.name.value;
    if (isConnectionType(named)) {
      if (listDepth > 0) w.inList = true;
      w.connections += 1;
      w.deepest = Math.max(w.deepest, depth + 1);
      const nodeType = getNamedType((typeField(named, "nodes") ?? typeField(named, "edges"))!.type);
      const nt = typeField(nodeType, "node") ? getNamedType(typeField(nodeType, "node")!.type) : nodeType;
      for (const n of nodeSelections(w, f)) {
        const childHasConnection = fieldsOf(w, n.selectionSet).some((c) => {
          const d = typeField(nt, c.name.value);
          return d ? isConnectionType(getNamedType(d.type)) : false;
        });
        if (childHasConnection) {
          // The nested connection's lines point at their parent by id (__parentId).
          const hasId = fieldsOf(w, n.selectionSet).some((c) => c.name.value === "id" && !c.alias);
          if (!hasId) w.withoutParentId.push(name);
        }
        walk(w, nt, n.selectionSet, depth + 1, 0, name);
      }
    } else if (isObjectType(named) || isInterfaceType(named)) {
      walk(w, named, f.selectionSet, depth, listDepth + (isListType(inner) ? 1 : 0), name);
    }
  }
}

/** Why Shopify refuses `doc` as a bulk query, or undefined when it runs it. */
export function bulkQueryProblem(schema: GraphQLSchema, doc: DocumentNode): string | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const w: Walk = { schema, fragments, connections: 0, deepest: 0, withoutParentId: [], inList: false };
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!op || op.kind !== Kind.OPERATION_DEFINITION) return undefined;
  for (const f of fieldsOf(w, op.selectionSet)) {
    if (f.name.value === "node") return "Bulk queries cannot contain a top level `node` field.";
    if (f.name.value === "nodes") return "Bulk queries cannot contain a top level `nodes` field.";
  }
  const root = schema.getQueryType();
  if (!root) return undefined;
  walk(w, root, op.selectionSet, 0, 0, "");
  if (w.connections === 0) return "Bulk queries must contain at least one connection.";
  if (w.connections > BULK_MAX_CONNECTIONS)
    return `Bulk queries cannot contain more than ${BULK_MAX_CONNECTIONS} connections.`;
  if (w.deepest > BULK_MAX_CONNECTION_DEPTH)
    return `Bulk queries cannot contain connections with a nesting depth greater than ${BULK_MAX_CONNECTION_DEPTH}.`;
  if (w.inList)
    return "Queries that contain a connection field within a list field are not currently supported.";
  if (w.withoutParentId.length)
    return `The parent 'node' field for a nested connection must select the 'id' field without an alias and must be of 'ID' return type. Connection fields without 'id': ${w.withoutParentId.join(", ")}.`;
  return undefined;
}
