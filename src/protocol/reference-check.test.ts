/**
 * LOCAL CHECK (skips itself where the reference templates are absent, e.g. in CI): renders the upstream
 * reference templates in /work/shared/reference/templates with glmv's normalisation + @huggingface/jinja and
 * asserts that every rendered example of GLM-V-spec.md §3.2/§3.3 comes out byte for byte (elided parts
 * compared as shown). The templates are read at test time only; glmv never bundles or loads them.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { assertMatchesExample, SPEC_EXAMPLES } from "./fixtures/spec-examples.ts";
import { renderPrompt } from "./template.ts";

const DIR = process.env.GLMV_REFERENCE_TEMPLATES ?? "/work/shared/reference/templates";
const FILES = { "glm-4.1v": "glm-4.1v-thinking.jinja", "glm-4.6v": "glm-4.6v-family.jinja" } as const;
const present = existsSync(`${DIR}/${FILES["glm-4.1v"]}`) && existsSync(`${DIR}/${FILES["glm-4.6v"]}`);

describe("reference templates render every spec §3 example", {
  skip: present ? false : `no reference templates in ${DIR}`,
}, () => {
  for (const example of SPEC_EXAMPLES) {
    it(example.name, () => {
      const template = readFileSync(`${DIR}/${FILES[example.layout]}`, "utf8");
      assertMatchesExample(renderPrompt(template, example.options), example.expected, example.name);
    });
  }
  it("enable_thinking true renders like undefined; only a defined false changes the prompt", () => {
    const template = readFileSync(`${DIR}/${FILES["glm-4.6v"]}`, "utf8");
    const messages = [{ role: "user" as const, content: "Hi" }];
    const undef = renderPrompt(template, { family: "glm-4.6v", messages });
    const on = renderPrompt(template, { family: "glm-4.6v", messages, enableThinking: true });
    if (undef !== on) throw new Error(`enable_thinking:true changed the prompt: ${JSON.stringify(on)}`);
  });
});

const TEXT_COPY = `${DIR}/glm-4.5-text.llama-cpp.jinja`;
describe("llama.cpp GLM-4.5 text copy differs as spec §3.4 says", {
  skip: existsSync(TEXT_COPY) ? false : "absent",
}, () => {
  const render = (options: Omit<Parameters<typeof renderPrompt>[1], "family">) =>
    renderPrompt(readFileSync(TEXT_COPY, "utf8"), { family: "glm-4.5v", ...options });
  it("no newline after <|user|>, generation prompt without newline", () => {
    const out = render({ messages: [{ role: "user", content: "Hi" }] });
    if (out !== "[gMASK]<sop><|user|>Hi<|assistant|>") throw new Error(JSON.stringify(out));
  });
  it("thinking disabled: <|assistant|>\\n<think></think>", () => {
    const out = render({ messages: [{ role: "user", content: "Hi" }], enableThinking: false });
    if (!out.endsWith("Hi/nothink<|assistant|>\n<think></think>")) throw new Error(JSON.stringify(out));
  });
  it("compact tool calls", () => {
    const out = render({
      messages: [
        { role: "user", content: "Q" },
        {
          role: "assistant",
          content: "",
          tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: '{"a": 1}' } }],
        },
      ],
      addGenerationPrompt: false,
    });
    if (!out.includes("<tool_call>f<arg_key>a</arg_key>")) throw new Error(JSON.stringify(out));
  });
});
