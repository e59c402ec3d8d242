import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { QUOTE_TOOLS } from "./fixtures/quote-tools.ts";
import {
  argumentFragments,
  formatToolCall,
  isStringSchema,
  parseToolCallBody,
  randomCallId,
  sequentialCallIds,
  serializeArguments,
  toToolCall,
  typeArgumentValue,
} from "./tools.ts";
import type { ToolDefinition } from "./types.ts";

const args = (body: string, tools: ToolDefinition[] | undefined = QUOTE_TOOLS) => {
  const block = parseToolCallBody(body, tools);
  assert.ok(block, "expected a call");
  return { name: block.name, arguments: serializeArguments(block.arguments) };
};

describe("spec §4.3 table", () => {
  it("symbol/days call", () => {
    assert.deepEqual(
      args(
        "get_quote\n<arg_key>symbol</arg_key>\n<arg_value>ACME</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n",
      ),
      { name: "get_quote", arguments: '{"symbol": "ACME", "days": 3}' },
    );
  });
  it("string value kept verbatim, untrimmed", () => {
    assert.equal(
      args("get_quote\n<arg_key>note</arg_key><arg_value> 007 </arg_value>").arguments,
      '{"note": " 007 "}',
    );
  });
  it("integer 007 fails JSON and Python literal: stays the string", () => {
    assert.equal(
      args("get_quote\n<arg_key>days</arg_key><arg_value>007</arg_value>").arguments,
      '{"days": "007"}',
    );
  });
  it("boolean True via the Python-literal step", () => {
    assert.equal(
      args("get_quote\n<arg_key>flag</arg_key><arg_value>True</arg_value>").arguments,
      '{"flag": true}',
    );
  });
  it("zero-argument call with newline", () =>
    assert.deepEqual(args("get_time\n"), { name: "get_time", arguments: "{}" }));
  it("zero-argument call without separator", () =>
    assert.deepEqual(args("get_time"), { name: "get_time", arguments: "{}" }));
});

describe("separators and tolerance", () => {
  it("accepts a literal backslash-n after the name", () => {
    assert.deepEqual(args("get_quote\\n<arg_key>days</arg_key>\\n<arg_value>3</arg_value>\\n"), {
      name: "get_quote",
      arguments: '{"days": 3}',
    });
  });
  it("accepts no separator at all", () => {
    assert.equal(args("get_quote<arg_key>days</arg_key><arg_value>3</arg_value>").name, "get_quote");
  });
  it("trims the name and keys", () => {
    assert.deepEqual(args("  get_quote \n<arg_key> days </arg_key>\n<arg_value>4</arg_value>"), {
      name: "get_quote",
      arguments: '{"days": 4}',
    });
  });
  it("drops an unpaired arg_key", () => {
    assert.equal(
      args("get_quote\n<arg_key>lost</arg_key>\n<arg_key>days</arg_key>\n<arg_value>2</arg_value>").arguments,
      '{"days": 2}',
    );
  });
  it("drops a key whose value never closes", () => {
    assert.equal(args("get_quote\n<arg_key>days</arg_key><arg_value>2").arguments, "{}");
  });
  it("returns null without a name", () => {
    assert.equal(parseToolCallBody("\n<arg_key>a</arg_key><arg_value>1</arg_value>"), null);
    assert.equal(parseToolCallBody("   "), null);
  });
  it("a repeated key keeps its first position and last value", () => {
    assert.equal(
      args(
        "f\n<arg_key>a</arg_key><arg_value>1</arg_value><arg_key>b</arg_key><arg_value>2</arg_value><arg_key>a</arg_key><arg_value>3</arg_value>",
        undefined,
      ).arguments,
      '{"a": 3, "b": 2}',
    );
  });
  it("a value may contain markup-like text and newlines", () => {
    assert.equal(
      args("get_quote\n<arg_key>note</arg_key><arg_value>a <b>\n<arg_key>x</arg_key></arg_value>").arguments,
      '{"note": "a <b>\\n<arg_key>x</arg_key>"}',
    );
  });
});

describe("argument typing", () => {
  it("undeclared keys and unknown tools go through JSON → Python → string", () => {
    assert.equal(
      args(
        "other\n<arg_key>a</arg_key><arg_value> [1, 2.0] </arg_value><arg_key>b</arg_key><arg_value>{'x': None, 'y': (1, 2)}</arg_value>" +
          "<arg_key>c</arg_key><arg_value> hello world </arg_value><arg_key>d</arg_key><arg_value>NaN</arg_value>" +
          '<arg_key>e</arg_key><arg_value>Infinity</arg_value><arg_key>f</arg_key><arg_value>"q"</arg_value>',
      ).arguments,
      '{"a": [1, 2.0], "b": {"x": null, "y": [1, 2]}, "c": "hello world", "d": "NaN", "e": "Infinity", "f": "q"}',
    );
  });
  it("schema without properties: everything typed", () => {
    const tools: ToolDefinition[] = [{ type: "function", function: { name: "f" } }];
    assert.equal(args("f\n<arg_key>n</arg_key><arg_value>5</arg_value>", tools).arguments, '{"n": 5}');
  });
  it("non-ASCII kept, Python separators", () => {
    assert.equal(
      args(
        'get_quote\n<arg_key>symbol</arg_key><arg_value>東京 "q"</arg_value><arg_key>城市</arg_key><arg_value>{"名": 1}</arg_value>',
      ).arguments,
      '{"symbol": "東京 \\"q\\"", "城市": {"名": 1}}',
    );
  });
  it("isStringSchema understands type arrays and anyOf/oneOf", () => {
    assert.equal(isStringSchema({ type: "string" }), true);
    assert.equal(isStringSchema({ type: ["string", "null"] }), true);
    assert.equal(isStringSchema({ type: ["string", "integer"] }), false);
    assert.equal(isStringSchema({ anyOf: [{ type: "string" }, { type: "null" }] }), true);
    assert.equal(isStringSchema({ oneOf: [{ type: "string" }, { type: "number" }] }), false);
    assert.equal(isStringSchema({ type: "integer" }), false);
    assert.equal(isStringSchema(undefined), false);
  });
  it("string-typed via anyOf keeps raw text", () => {
    assert.equal(typeArgumentValue(" 3 ", { anyOf: [{ type: "string" }, { type: "null" }] }), " 3 ");
    assert.equal(typeArgumentValue(" 3 ", { type: "integer" }), 3n);
  });
});

describe("fragments, ids, formatting", () => {
  it("fragments join to the arguments string", () => {
    const block = parseToolCallBody(
      "get_quote\n<arg_key>symbol</arg_key><arg_value>ACME</arg_value><arg_key>days</arg_key><arg_value>3</arg_value>",
      QUOTE_TOOLS,
    )!;
    assert.deepEqual(argumentFragments(block.arguments), ['{"symbol": "ACME"', ', "days": 3', "}"]);
    assert.deepEqual(argumentFragments([]), ["{}"]);
  });
  it("ids look like call_<24 hex>", () => {
    assert.match(randomCallId(), /^call_[0-9a-f]{24}$/);
    assert.notEqual(randomCallId(), randomCallId());
    const ids = sequentialCallIds();
    assert.equal(ids(), "call_000000000000000000000001");
    assert.match(ids(), /^call_[0-9a-f]{24}$/);
  });
  it("toToolCall builds the OpenAI shape", () => {
    assert.deepEqual(toToolCall({ name: "get_time", arguments: [] }, "call_x"), {
      id: "call_x",
      type: "function",
      function: { name: "get_time", arguments: "{}" },
    });
  });
  it("formatToolCall writes the template's canonical form and round-trips", () => {
    const text = formatToolCall("get_quote", { symbol: "ACME", days: 3 });
    assert.equal(
      text,
      "<tool_call>get_quote\n<arg_key>symbol</arg_key>\n<arg_value>ACME</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>",
    );
    assert.equal(
      args(text.slice("<tool_call>".length, -"</tool_call>".length)).arguments,
      '{"symbol": "ACME", "days": 3}',
    );
  });
});
