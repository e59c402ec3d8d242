import assert from "node:assert/strict";
import { test } from "node:test";
import { ScriptError, splitScript } from "./script.ts";

const texts = (s: string) => splitScript(s).map((p) => (p.special ? `[${p.text}]` : p.text));

test("special tokens stay single pieces and text splits into words", () => {
  assert.deepEqual(texts("<think>Let me see.</think>It is <|begin_of_box|>42<|end_of_box|>"), [
    "[<think>]",
    "Let",
    " me",
    " see",
    ".",
    "[</think>]",
    "It",
    " is",
    " ",
    "[<|begin_of_box|>]",
    "42",
    "[<|end_of_box|>]",
  ]);
});

test("repeated text is merged until every piece is unique, and the pieces rebuild the script", () => {
  const script = "a b a b. c.<tool_call>f\n<arg_key>k</arg_key>\n<arg_value>v</arg_value>\n</tool_call>";
  const pieces = splitScript(script);
  assert.equal(pieces.map((p) => p.text).join(""), script);
  const text = pieces.filter((p) => !p.special).map((p) => `${p.text}#${p.variant}`);
  assert.equal(new Set(text).size, text.length);
  // The two lone newlines of the tool call use the two token variants of "\n".
  assert.deepEqual(
    pieces.filter((p) => p.text === "\n").map((p) => p.variant),
    [0, 1],
  );
});

test("an isolated repeat or a special token with two continuations is refused with a fix", () => {
  assert.throws(
    () => splitScript("<|begin_of_box|>1<|end_of_box|>x<|begin_of_box|>2<|end_of_box|>"),
    ScriptError,
  );
  assert.throws(() => splitScript("<answer>\n</answer>\n<think>\n</think>"), /more than twice/);
  assert.throws(() => splitScript(""), /empty/);
});

test("a third lone repeat is glued to the special token before it; <think> and </think> stay real", () => {
  const script =
    "<think>Need it.</think>\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>";
  const pieces = splitScript(script);
  assert.equal(pieces.map((p) => p.text).join(""), script);
  assert.deepEqual(
    pieces.filter((p) => p.special).map((p) => p.text),
    ["<think>", "</think>", "<tool_call>", "<arg_key>", "</arg_key>", "<arg_value>", "</tool_call>"],
  );
  assert.ok(pieces.some((p) => p.text === "</arg_value>\n" && !p.special && p.variant === 1));
});
