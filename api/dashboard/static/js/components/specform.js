// The fields of POST /jobs read from the API's own schema (/openapi.json, JobRequest): names,
// types, defaults, bounds, choices and descriptions. A field the API adds appears here with no
// change to the page.

function lookup(root, ref) {
  return ref
    .replace(/^#\//, "")
    .split("/")
    .reduce((node, part) => node[part], root);
}

function resolve(schema, root) {
  if (schema.$ref) return { ...resolve(lookup(root, schema.$ref), root), ...without(schema, "$ref") };
  if (schema.allOf && schema.allOf.length === 1) {
    return { ...resolve(schema.allOf[0], root), ...without(schema, "allOf") };
  }
  return schema;
}

function without(object, key) {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

/** [{name, kind, label, help, required, nullable, default, choices, min, max, step}]: the
 * required fields first, then the training settings (the job's spec), then the service's own
 * (webhooks and the like), each group in the schema's order. */
export function requestFields(openapi) {
  const root = openapi;
  const request = resolve(openapi.components.schemas.JobRequest, root);
  const required = new Set(request.required || []);
  const spec = openapi.components.schemas.JobSpec?.properties || {};
  const group = (name) => (required.has(name) ? 0 : name in spec ? 1 : 2);
  const names = Object.keys(request.properties);
  names.sort((a, b) => group(a) - group(b) || names.indexOf(a) - names.indexOf(b));
  return names.map((name) => [name, request.properties[name]]).map(([name, raw]) => {
    let schema = resolve(raw, root);
    let nullable = false;
    if (schema.anyOf || schema.oneOf) {
      const options = (schema.anyOf || schema.oneOf).map((one) => resolve(one, root));
      const real = options.filter((one) => one.type !== "null");
      nullable = real.length < options.length;
      schema = { ...real[0], ...without(without(schema, "anyOf"), "oneOf") };
    }
    const items = schema.type === "array" && schema.items ? resolve(schema.items, root) : null;
    const choices = items?.enum ?? schema.enum ?? (schema.const !== undefined ? [schema.const] : null);
    let kind = "text";
    if (items?.enum) kind = "multi";
    else if (choices) kind = "choice";
    else if (schema.type === "boolean") kind = "bool";
    else if (schema.type === "integer") kind = "int";
    else if (schema.type === "number") kind = "float";
    else if (schema.format === "uuid") kind = "job";
    return {
      name,
      kind,
      label: name.replaceAll("_", " "),
      help: schema.description || "",
      required: required.has(name),
      nullable,
      default: raw.default ?? schema.default,
      choices,
      min: schema.minimum ?? schema.exclusiveMinimum,
      max: schema.maximum ?? schema.exclusiveMaximum,
      step: kind === "int" ? "1" : "any",
    };
  });
}

/** A value typed into a field, as the API expects it; text that is not a number goes as it is,
 * so the API's own message names the problem. undefined: leave the field out. */
export function parseValue(field, text) {
  if (field.kind === "bool") return text;
  if (field.kind === "multi") return text.length ? text : field.nullable ? null : undefined;
  if (text === "" || text === null) return field.nullable && !field.required ? null : undefined;
  if (field.kind === "int" && /^-?\d+$/.test(text.trim())) return Number(text);
  if (field.kind === "float" && text.trim() !== "" && Number.isFinite(Number(text))) return Number(text);
  return text;
}
