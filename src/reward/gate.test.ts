import assert from "node:assert/strict";
import { test } from "node:test";
import {
  afterThinkPart,
  englishWordCount,
  formatGateFailure,
  isLanguageMixed,
  singleBox,
  thinkAnswerPart,
} from "./gate.ts";

const BOX = (x: string) => `<|begin_of_box|>${x}<|end_of_box|>`;

test("format gate: think/answer form, case-insensitive, one trailing newline allowed like Python's $", () => {
  assert.equal(formatGateFailure(`<think>r</think>\n<answer>${BOX("1")}</answer>`), null);
  assert.equal(formatGateFailure(`<THINK>r</THINK><ANSWER>x</ANSWER>\n`), null);
  assert.match(formatGateFailure("<think>r</think><answer>x</answer>\n\n") ?? "", /form/);
  assert.match(formatGateFailure("<think>r</think>x") ?? "", /form/);
  assert.match(formatGateFailure("preamble <think>r</think><answer>x</answer>") ?? "", /form/);
});

test("format gate: nested tags, two boxes and \\boxed{} fail", () => {
  assert.match(formatGateFailure("<think>a<think>b</think><answer>x</answer>") ?? "", /nested/);
  assert.match(formatGateFailure("<think>a</think><answer>x</answer><answer>y</answer>") ?? "", /nested/);
  assert.match(
    formatGateFailure(`<think>a</think><answer>${BOX("1")}${BOX("2")}</answer>`) ?? "",
    /more than one box/,
  );
  assert.match(
    formatGateFailure(`<think>a</think><answer>x<|end_of_box|><|end_of_box|></answer>`) ?? "",
    /box/,
  );
  assert.match(formatGateFailure("<think>a</think><answer>\\boxed{1}</answer>") ?? "", /boxed/);
  assert.equal(
    formatGateFailure(`<think>${BOX("1")}${BOX("2")}</think><answer>${BOX("1")}</answer>`),
    null,
    "boxes in the reasoning are allowed",
  );
});

const zh = "这是一个很长的中文段落".repeat(8); // 80 CJK characters
const en = Array.from({ length: 210 }, (_, i) => `word${"abcdefghij"[i % 10]}`.replace(/\d/g, "")).join(" ");

test("language mix: a long Chinese and a long English paragraph anywhere → mixed", () => {
  assert.equal(isLanguageMixed(`<think>${zh}\n\n${en}</think>`), true);
  assert.equal(isLanguageMixed(`${zh}\n\n\n${en}`), true);
  assert.equal(isLanguageMixed(`${zh}\n${en}`), false, "one newline does not separate paragraphs");
  assert.equal(isLanguageMixed(`${zh}\n\n${zh}`), false);
  assert.equal(isLanguageMixed(`${en}\n\n${en}`), false);
});

test("language mix thresholds: ≥ 50 CJK characters over 80%; ≥ 200 English words over 70% of tokens", () => {
  const shortZh = "中文".repeat(24); // 48 characters
  assert.equal(isLanguageMixed(`${shortZh}\n\n${en}`), false);
  const dilutedZh = `${"中".repeat(60)}${"x".repeat(20)}`; // 75% CJK
  assert.equal(isLanguageMixed(`${dilutedZh}\n\n${en}`), false);
  const fewWords = Array.from({ length: 199 }, () => "word").join(" ");
  assert.equal(isLanguageMixed(`${zh}\n\n${fewWords}`), false);
  const dilutedEn = `${en} ${Array.from({ length: 100 }, () => "1").join(" ")}`; // 210/310 words
  assert.equal(isLanguageMixed(`${zh}\n\n${dilutedEn}`), false);
  const glued = Array.from({ length: 210 }, () => "word中").join(" ");
  assert.equal(
    isLanguageMixed(`${zh}\n\n${glued}`),
    false,
    "Latin glued to CJK is not an English word (Python \\b)",
  );
});

test("answer parts: think/answer, after-think with the <answer> wrapper removed (defect 3), single box", () => {
  assert.equal(thinkAnswerPart("<think>r</think><answer>a</answer>"), "a");
  assert.equal(thinkAnswerPart("<think>r</think><answer>a<think></answer>"), null);
  assert.equal(afterThinkPart(`<think>r</think>\n<answer>${BOX("3")}</answer>`), BOX("3"));
  assert.equal(afterThinkPart(`<think>r</think>${BOX("3")}`), BOX("3"));
  assert.equal(afterThinkPart("no think"), null);
  assert.equal(singleBox(` ${BOX(" 5 ")} `, true), "5");
  assert.equal(singleBox("5", true), null);
  assert.equal(singleBox(" 5 ", false), "5");
  assert.equal(singleBox(`${BOX("1")}${BOX("2")}`, false), null);
  assert.equal(singleBox("\\boxed{\\frac{1}{2}}", true), "\\frac{1}{2}");
});

test("englishWordCount matches Python's \\b[a-zA-Z]{2,}\\b (Unicode word boundaries)", () => {
  const python = /(?<![\p{L}\p{N}_])[a-zA-Z]{2,}(?![\p{L}\p{N}_])/gu;
  const alphabet = ["a", "b", "Z", " ", "1", "_", "中", "é", ".", "x", "\n", "😀", "-"];
  let seed = 11;
  for (let k = 0; k < 400; k++) {
    let s = "";
    const len = k % 40;
    for (let i = 0; i < len; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      s += alphabet[seed % alphabet.length];
    }
    assert.equal(englishWordCount(s), s.match(python)?.length ?? 0, JSON.stringify(s));
  }
  assert.equal(englishWordCount("the cat, a dog; word中 über x2 ab_c to"), 4);
});
