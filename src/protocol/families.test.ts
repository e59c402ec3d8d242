import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULT_FAMILY,
  detectFamily,
  effectiveThinking,
  FAMILIES,
  FAMILY_IDS,
  familyFromName,
  getFamily,
  isFamilyId,
  resolveFamilyId,
  thinkingCloseText,
  UnknownFamilyError,
} from "./families.ts";

describe("registry (spec §1, §2)", () => {
  it("has every family, keyed by its id", () => {
    assert.deepEqual(Object.keys(FAMILIES).sort(), [...FAMILY_IDS].sort());
    for (const id of FAMILY_IDS) assert.equal(FAMILIES[id].id, id);
    assert.equal(DEFAULT_FAMILY, "glm-4.6v");
  });
  it("thinking, answer tags and tools per §1.1/§1.2", () => {
    const f = (id: keyof typeof FAMILIES) => FAMILIES[id];
    assert.equal(f("glm-4.1v-thinking").thinking, "always");
    assert.equal(f("glm-4.1v-thinking").answerTags, true);
    assert.equal(f("glm-4.1v-thinking").toolCalls, false);
    for (const id of ["glm-4.5v", "glm-4.6v", "glm-4.6v-flash", "glm-ocr"] as const) {
      assert.equal(f(id).thinking, "switchable", id);
      assert.equal(f(id).answerTags, false, id);
      assert.equal(f(id).toolCalls, true, id);
    }
    assert.equal(f("glm-4.5v").maySkipThinking, false);
    assert.equal(f("glm-4.6v").maySkipThinking, true);
  });
  it("context lengths and video timestamp styles", () => {
    assert.equal(FAMILIES["glm-4.1v-thinking"].contextLength, 65536);
    assert.equal(FAMILIES["glm-4.5v"].contextLength, 65536);
    assert.equal(FAMILIES["glm-4.6v"].contextLength, 131072);
    assert.equal(FAMILIES["glm-4.6v-flash"].contextLength, 131072);
    assert.equal(FAMILIES["glm-ocr"].contextLength, 131072);
    assert.equal(FAMILIES["glm-4.1v-thinking"].videoTimestamp, "integer-seconds");
    assert.equal(FAMILIES["glm-4.6v"].videoTimestamp, "decimal-seconds");
  });
  it("special tokens and stops are strings; ids are hints only", () => {
    for (const id of FAMILY_IDS) {
      const f = FAMILIES[id];
      assert.deepEqual(f.specialTokens.prefix, ["[gMASK]", "<sop>"]);
      assert.deepEqual([...f.stopTokens], ["<|endoftext|>", "<|user|>", "<|observation|>"]);
      assert.equal(f.specialTokens.beginBox, "<|begin_of_box|>");
      assert.equal(f.specialTokens.thinkClose, "</think>");
      assert.ok(f.sampling.source.length > 20, `${id} says where its sampling comes from`);
    }
    assert.equal(FAMILIES["glm-4.1v-thinking"].specialTokens.answerOpen, "<answer>");
    assert.equal(FAMILIES["glm-4.6v"].specialTokens.toolCallOpen, "<tool_call>");
    assert.deepEqual(FAMILIES["glm-4.1v-thinking"].knownIds.eos, [151329, 151336, 151338, 151348]);
    assert.deepEqual(FAMILIES["glm-ocr"].knownIds.eos, [59246, 59253]);
  });
  it("exact ids and the text that closes reasoning early (§5.3)", () => {
    assert.equal(isFamilyId("glm-4.6v-flash"), true);
    assert.equal(isFamilyId("GLM-4.6V"), false);
    assert.equal(thinkingCloseText("glm-4.1v-thinking"), "</think><answer>");
    for (const id of ["glm-4.5v", "glm-4.6v", "glm-4.6v-flash", "glm-ocr"] as const) {
      assert.equal(thinkingCloseText(id), "</think>", id);
    }
  });
  it("sampling defaults per §1.3", () => {
    assert.equal(FAMILIES["glm-4.1v-thinking"].sampling.topK, 1);
    assert.equal(FAMILIES["glm-4.6v"].sampling.temperature, 0.8);
    assert.equal(FAMILIES["glm-4.6v"].sampling.topP, 0.6);
    assert.equal(FAMILIES["glm-ocr"].sampling.temperature, 0);
  });
  it("effectiveThinking: 4.1V always; others unless false", () => {
    assert.equal(effectiveThinking(getFamily("glm-4.1v-thinking"), false), true);
    assert.equal(effectiveThinking(getFamily("glm-4.6v"), false), false);
    assert.equal(effectiveThinking(getFamily("glm-4.6v"), undefined), true);
  });
});

describe("names", () => {
  const cases: [string, string | null][] = [
    ["GLM-4.6V-Flash", "glm-4.6v-flash"],
    ["GLM 4.6V Flash", "glm-4.6v-flash"],
    ["zai-org/GLM-4.5V-FP8", "glm-4.5v"],
    ["zai-org/GLM-4.1V-9B-Thinking", "glm-4.1v-thinking"],
    ["ggml-org/GLM-OCR-GGUF", "glm-ocr"],
    ["GLM-4.6V", "glm-4.6v"],
    ["GLM-4.5-Air", null],
    ["llama", null],
  ];
  for (const [name, expected] of cases)
    it(`${name} → ${expected}`, () => assert.equal(familyFromName(name), expected));
  it("resolveFamilyId accepts short forms and rejects unknown names with the list", () => {
    assert.equal(resolveFamilyId("4.6v-flash"), "glm-4.6v-flash");
    assert.equal(resolveFamilyId("ocr"), "glm-ocr");
    assert.equal(resolveFamilyId("GLM-4.1V"), "glm-4.1v-thinking");
    assert.throws(
      () => resolveFamilyId("gpt-4"),
      (e: Error) => e instanceof UnknownFamilyError && /glm-4\.6v-flash/.test(e.message),
    );
  });
});

describe("detectFamily", () => {
  it("override wins", () => {
    assert.equal(
      detectFamily({ override: "glm-4.5v", gguf: { "general.name": "GLM-OCR" } }).family,
      "glm-4.5v",
    );
  });
  it("GGUF general.name", () => {
    assert.equal(
      detectFamily({ gguf: { "general.name": "GLM 4.6V Flash", "general.architecture": "glm4" } }).family,
      "glm-4.6v-flash",
    );
  });
  it("HF _name_or_path", () => {
    assert.equal(detectFamily({ hfConfig: { _name_or_path: "zai-org/GLM-4.5V" } }).family, "glm-4.5v");
  });
  it("HF architectures and model_type, with context length deciding", () => {
    assert.equal(detectFamily({ hfConfig: { model_type: "glm_ocr" } }).family, "glm-ocr");
    assert.equal(
      detectFamily({ hfConfig: { architectures: ["GlmOcrForConditionalGeneration"] } }).family,
      "glm-ocr",
    );
    assert.equal(detectFamily({ hfConfig: { model_type: "glm46v" } }).family, "glm-4.6v-flash");
    assert.equal(
      detectFamily({
        hfConfig: {
          architectures: ["Glm4vMoeForConditionalGeneration"],
          text_config: { max_position_embeddings: 65536 },
        },
      }).family,
      "glm-4.5v",
    );
    assert.equal(
      detectFamily({
        hfConfig: { model_type: "glm4v_moe", text_config: { max_position_embeddings: 131072 } },
      }).family,
      "glm-4.6v",
    );
    assert.equal(
      detectFamily({ hfConfig: { model_type: "glm4v", text_config: { max_position_embeddings: 65536 } } })
        .family,
      "glm-4.1v-thinking",
    );
    assert.equal(
      detectFamily({ hfConfig: { model_type: "glm4v", text_config: { max_position_embeddings: 131072 } } })
        .family,
      "glm-4.6v-flash",
    );
  });
  it("GGUF architecture plus context length", () => {
    assert.equal(
      detectFamily({ gguf: { "general.architecture": "glm4moe", "glm4moe.context_length": 65536 } }).family,
      "glm-4.5v",
    );
  });
  it("ambiguous architecture: clear error naming --family", () => {
    assert.throws(
      () => detectFamily({ hfConfig: { model_type: "glm4v_moe" } }),
      /Pass the family explicitly.*--family glm-4\.6v/,
    );
  });
  it("unknown model: error lists what was seen and the valid ids", () => {
    assert.throws(
      () => detectFamily({ gguf: { "general.name": "Llama 3", "general.architecture": "llama" } }),
      (e: Error) => e instanceof UnknownFamilyError && /Llama 3/.test(e.message) && /glm-ocr/.test(e.message),
    );
    assert.throws(() => detectFamily({}), /no name or architecture found/);
  });
  it("reports its reason", () => {
    assert.match(detectFamily({ name: "GLM-4.6V" }).reason, /name "GLM-4.6V"/);
  });
});
