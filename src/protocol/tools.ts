/**
 * The GLM-4.5 tool-call grammar (spec §4.3), used by GLM-4.5V, GLM-4.6V, GLM-4.6V-Flash and GLM-OCR:
 *
 *   call  := "<tool_call>" NAME SEP? ARG* WS "</tool_call>"
 *   SEP   := "\n" | the two characters "\" "n" | (nothing)
 *   ARG   := WS "<arg_key>" KEY "</arg_key>" WS "<arg_value>" VALUE "</arg_value>"
 *
 * This module parses the text *between* `<tool_call>` and `</tool_call>`; finding the blocks in a
 * generation is the scanner's job (stream.ts), so that batch and streaming share one grammar.
 */
import {
  dumpsPython,
  fromPlain,
  type PyDict,
  type PyValue,
  parseJsonValue,
  parsePythonLiteral,
} from "./pyliteral.ts";
import type { ToolCall, ToolDefinition } from "./types.ts";

/** The tag strings of the tool-call grammar. */
export const TOOL_TAGS = {
  callOpen: "<tool_call>",
  callClose: "</tool_call>",
  keyOpen: "<arg_key>",
  keyClose: "</arg_key>",
  valueOpen: "<arg_value>",
  valueClose: "</arg_value>",
} as const;

/** Makes a tool-call id. Inject a deterministic one in tests. */
export type CallIdGenerator = () => string;

/** The default id generator: `call_` followed by 24 random lowercase hex digits (SGLang's shape). */
export function randomCallId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `call_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * A deterministic id generator for tests and reproducible runs: `call_` + 24 hex digits derived from a
 * counter (`call_000000000000000000000001`, …). Two generators made with the same start give the same ids.
 */
export function sequentialCallIds(start = 1): CallIdGenerator {
  let next = start;
  return () => `call_${(next++).toString(16).padStart(24, "0")}`;
}

/** One parsed argument: the key and its typed value, in the order the model wrote them. */
export interface ParsedArgument {
  key: string;
  value: PyValue;
}

/** A tool call parsed from one `<tool_call>` block, before an id is attached. */
export interface ParsedToolCallBlock {
  name: string;
  /** Arguments in order; a repeated key keeps its first position and its last value (Python dict). */
  arguments: ParsedArgument[];
}

/**
 * True when a JSON-schema property is a string: `type: "string"`, or a type array / `anyOf` / `oneOf`
 * whose only non-null type is string (spec §4.3). Such values are kept verbatim.
 */
export function isStringSchema(schema: unknown): boolean {
  if (!isRecord(schema)) return false;
  const type = schema.type;
  if (type === "string") return true;
  if (Array.isArray(type)) {
    const nonNull = type.filter((t) => t !== "null");
    return nonNull.length > 0 && nonNull.every((t) => t === "string");
  }
  for (const key of ["anyOf", "oneOf"]) {
    const alternatives = schema[key];
    if (Array.isArray(alternatives)) {
      const nonNull = alternatives.filter((a) => !(isRecord(a) && a.type === "null"));
      if (nonNull.length > 0 && nonNull.every(isStringSchema)) return true;
    }
  }
  return false;
}

/** The declared JSON schema of `key` for tool `name`, or undefined (unknown tool, no properties, undeclared). */
export function argumentSchema(
  tools: readonly ToolDefinition[] | undefined,
  name: string,
  key: string,
): unknown {
  const tool = tools?.find((t) => t?.function?.name === name);
  const properties = tool?.function?.parameters?.properties;
  if (!isRecord(properties) || !Object.hasOwn(properties, key)) return undefined;
  return properties[key];
}

/**
 * Types one raw `<arg_value>` text (spec §4.3): a string-typed property keeps the raw text verbatim;
 * anything else is trimmed and read as JSON, then as a Python literal, else kept as the trimmed string.
 * NaN and Infinity never become numbers.
 */
export function typeArgumentValue(raw: string, schema: unknown): PyValue {
  if (isStringSchema(schema)) return raw;
  const trimmed = raw.trim();
  const json = parseJsonValue(trimmed);
  if (json !== undefined) return json;
  const literal = parsePythonLiteral(trimmed);
  if (literal !== undefined) return literal;
  return trimmed;
}

/**
 * Parses the text between `<tool_call>` and `</tool_call>`. Returns null when there is no function name
 * (such a block is not a call). Never throws: malformed argument markup is skipped.
 */
export function parseToolCallBody(
  body: string,
  tools?: readonly ToolDefinition[],
): ParsedToolCallBlock | null {
  const separators = ["\n", "\\n", TOOL_TAGS.keyOpen];
  let nameEnd = body.length;
  for (const sep of separators) {
    const at = body.indexOf(sep);
    if (at !== -1 && at < nameEnd) nameEnd = at;
  }
  const name = body.slice(0, nameEnd).trim();
  if (name === "") return null;
  const values = new Map<string, PyValue>();
  const rest = body.slice(nameEnd);
  let pos = 0;
  for (;;) {
    const keyStart = rest.indexOf(TOOL_TAGS.keyOpen, pos);
    if (keyStart === -1) break;
    const keyTextStart = keyStart + TOOL_TAGS.keyOpen.length;
    const keyEnd = rest.indexOf(TOOL_TAGS.keyClose, keyTextStart);
    if (keyEnd === -1) break;
    const key = rest.slice(keyTextStart, keyEnd).trim();
    pos = keyEnd + TOOL_TAGS.keyClose.length;
    // The value must follow after optional whitespace (or literal backslash-n separators, which some
    // engines emit); otherwise the key is unpaired and dropped.
    let after = pos;
    for (;;) {
      if (after < rest.length && /\s/.test(rest[after])) after++;
      else if (rest.startsWith("\\n", after)) after += 2;
      else break;
    }
    if (!rest.startsWith(TOOL_TAGS.valueOpen, after)) continue;
    const valueStart = after + TOOL_TAGS.valueOpen.length;
    const valueEnd = rest.indexOf(TOOL_TAGS.valueClose, valueStart);
    if (valueEnd === -1) break;
    const raw = rest.slice(valueStart, valueEnd);
    values.set(key, typeArgumentValue(raw, argumentSchema(tools, name, key)));
    pos = valueEnd + TOOL_TAGS.valueClose.length;
  }
  return { name, arguments: Array.from(values, ([key, value]) => ({ key, value })) };
}

/**
 * The `arguments` string of a call, split into the fragments a stream sends: `{"k": v`, `, "k2": v2`, …, `}`
 * (a zero-argument call is the single fragment `{}`). Joined, they are Python `json.dumps(args,
 * ensure_ascii=False)`.
 */
export function argumentFragments(args: readonly ParsedArgument[]): string[] {
  if (args.length === 0) return ["{}"];
  const fragments = args.map((a, i) => {
    const single: PyDict = new Map([[a.key, a.value]]);
    const pair = dumpsPython(single).slice(1, -1);
    return (i === 0 ? "{" : ", ") + pair;
  });
  fragments.push("}");
  return fragments;
}

/** Serialises parsed arguments as the OpenAI `arguments` string (Python `json.dumps` style). */
export function serializeArguments(args: readonly ParsedArgument[]): string {
  return argumentFragments(args).join("");
}

/** Builds the OpenAI-style ToolCall for a parsed block. */
export function toToolCall(block: ParsedToolCallBlock, id: string): ToolCall {
  return {
    id,
    type: "function",
    function: { name: block.name, arguments: serializeArguments(block.arguments) },
  };
}

/**
 * Renders calls back into model text (the grammar's canonical form, as the 4.5V/4.6V templates write it):
 * `<tool_call>name\n<arg_key>k</arg_key>\n<arg_value>v</arg_value>\n</tool_call>`, strings raw, other values
 * as Python-style JSON. Handy for tests and for building fine-tuning targets.
 */
export function formatToolCall(name: string, args: Record<string, unknown>): string {
  let out = `${TOOL_TAGS.callOpen}${name}\n`;
  for (const [k, v] of Object.entries(args)) {
    const value = typeof v === "string" ? v : dumpsPython(fromPlain(v));
    out += `${TOOL_TAGS.keyOpen}${k}${TOOL_TAGS.keyClose}\n${TOOL_TAGS.valueOpen}${value}${TOOL_TAGS.valueClose}\n`;
  }
  return out + TOOL_TAGS.callClose;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
