import assert from "node:assert/strict";
import { test } from "node:test";
import {
  extractAndroidAction,
  extractOsAction,
  extractWebAction,
  judgeAndroidAction,
  judgeOsAction,
  judgeWebAction,
  scrollStepSimilarity,
  typedTextSimilarity,
} from "./gui.ts";
import { makeVerifier } from "./testing.ts";

const box = (x: string) => `<|begin_of_box|>${x}<|end_of_box|>`;
const close = (actual: number, expected: number, eps = 1e-4) =>
  assert.ok(Math.abs(actual - expected) < eps, `${actual} ≠ ${expected}`);

// ---- AndroidWorld
const aw = (x: string) => extractAndroidAction(`Memory: None\nReason: r\nAction: ${box(x)}`)!;

test("AndroidWorld extraction: JSON, Python literals parsed safely, leading zeros", () => {
  assert.deepEqual(aw('{"action_type": "click", "box_2d": [[010,20,300,400]]}'), {
    action_type: "click",
    box_2d: [[10, 20, 300, 400]],
  });
  assert.deepEqual(aw("{'action_type': 'input_text', 'override': True}"), {
    action_type: "input_text",
    override: true,
  });
  assert.equal(extractAndroidAction(box("__import__('os').system('x')")), null, "never evaluated (defect 9)");
  assert.equal(extractAndroidAction("no box"), null);
});

test("AndroidWorld judge: key sets, product of key scores, box IoU, text LCS", () => {
  const g = { action_type: "click", box_2d: [[100, 100, 300, 200]] };
  close(judgeAndroidAction({ action_type: "click", box_2d: [[110, 100, 300, 210]] }, g), 0.8676);
  assert.equal(judgeAndroidAction({ action_type: "click", box_2d: [[100, 100, 300, 200]] }, g), 1);
  assert.equal(judgeAndroidAction({ action_type: "long_press", box_2d: [[100, 100, 300, 200]] }, g), 0);
  assert.equal(judgeAndroidAction({ action_type: "click" }, g), 0, "key sets differ");
  assert.equal(
    judgeAndroidAction({ action_type: "click", box_2d: [[300, 100, 100, 200]] }, g),
    0,
    "unordered box",
  );
  assert.equal(
    judgeAndroidAction({ action_type: "click", box_2d: [[100, 100, 300, 1000]] }, g),
    0,
    "out of 0–999",
  );
  assert.equal(
    judgeAndroidAction({ action_type: "click", box_2d: [[100.5, 100, 300, 200]] }, g),
    0,
    "not integers",
  );
  const t = { action_type: "input_text", text: "abcd", override: true };
  close(judgeAndroidAction({ ...t, text: "abce" }, t), 0.75);
  assert.equal(judgeAndroidAction({ ...t, override: false }, t), 0);
});

// ---- OSWorld
const os = (x: string) => extractOsAction(`I will click.\n${box(x)}\nMemory:\n[]`)!;

test("OSWorld extraction: call parsing, coordinates, balanced quotes and brackets", () => {
  const a = os("left_drag(start_box='[10, 20]', end_box='[30,40]', element_info='a, b')");
  assert.equal(a.action, "left_drag");
  assert.deepEqual(a.start, [10, 20]);
  assert.deepEqual(a.end, [30, 40]);
  assert.equal(a.params.element_info, "a, b");
  assert.equal(os("scroll(start_box='[1,2]', direction='down', step=3)").params.step, 3);
  assert.equal(os("WAIT()").action, "WAIT");
  assert.equal(extractOsAction(box("type(content='it's')")), null, "odd quotes");
  assert.equal(extractOsAction(box("left_click(start_box='[1,2')")), null, "unbalanced bracket");
});

test("OSWorld point similarity: 1 − 0.2·d/20 up to 20, then max(0, 1 − d/50)", () => {
  const g = os("left_click(start_box='[500, 500]')");
  close(judgeOsAction(os("left_click(start_box='[510, 500]')"), g), 0.9);
  close(judgeOsAction(os("left_click(start_box='[530, 500]')"), g), 0.4);
  close(judgeOsAction(os("left_click(start_box='[520, 500]')"), g), 0.8);
  close(judgeOsAction(os("left_click(start_box='[521, 500]')"), g), 0.58);
  assert.equal(judgeOsAction(os("left_click(start_box='[600, 500]')"), g), 0);
  assert.equal(judgeOsAction(os("right_click(start_box='[500, 500]')"), g), 0, "type mismatch");
  assert.equal(judgeOsAction(os("Left_click(start_box='[500, 500]')"), g), 0, "case-sensitive type");
});

test("OSWorld drag: geometric mean of both ends", () => {
  const g = os("left_drag(start_box='[100,100]', end_box='[200,200]')");
  close(judgeOsAction(os("left_drag(start_box='[110,100]', end_box='[230,200]')"), g), Math.sqrt(0.9 * 0.4));
});

test("OSWorld scroll: point × direction × step similarity; zero ground-truth step is safe (defect 9)", () => {
  const g = os("scroll(start_box='[500,500]', direction='down', step=4)");
  close(judgeOsAction(os("scroll(start_box='[500,500]', direction='down', step=6)"), g), 0.75);
  close(judgeOsAction(os("scroll(start_box='[500,500]', direction='down')"), g), 1 - 1 / 8, 1e-9);
  assert.equal(judgeOsAction(os("scroll(start_box='[500,500]', direction='up', step=4)"), g), 0);
  assert.equal(scrollStepSimilarity(3, undefined), 1);
  assert.equal(scrollStepSimilarity(0, 0), 1);
  assert.equal(scrollStepSimilarity(5, 0), 0);
  assert.equal(scrollStepSimilarity(20, 4), 0);
});

test("OSWorld typing: edit + bigram mix, length and repetition penalties, empty → 0", () => {
  assert.equal(typedTextSimilarity("Hello", " hello "), 1);
  assert.equal(typedTextSimilarity("", "hello"), 0);
  const partial = typedTextSimilarity("ab", "abcdefghij"); // ratio 0.2 < 0.3
  close(partial, (0.6 * 0.2 + 0.4 * (1 / 9)) * 0.2);
  const repetitive = typedTextSimilarity("aaaaaaaaaaaa", "aaaaaaaaaaaa");
  close(repetitive, 0.3, 1e-9);
  close(typedTextSimilarity("abababababab", "abababababab"), 0.3, 1e-9);
});

test("OSWorld hotkeys (case-insensitive) and WAIT/DONE/FAIL", () => {
  assert.equal(judgeOsAction(os("key(keys='Ctrl+C')"), os("key(keys='ctrl+c')")), 1);
  assert.equal(judgeOsAction(os("key(keys='ctrl+v')"), os("key(keys='ctrl+c')")), 0);
  for (const a of ["WAIT()", "DONE()", "FAIL()"]) assert.equal(judgeOsAction(os(a), os(a)), 1);
});

// ---- WebVoyager
const wv = (x: string) => extractWebAction(`Thought: t\nAction: ${box(x)}\nMemory_Updated: {}`)!;

test("WebVoyager new style: click point / element_info, type, key, scroll, answer", () => {
  const click = wv("CLICK(point=(100, 200), box=[[1,2,3,4]], element_info='Search')");
  assert.deepEqual(click.point, [100, 200]);
  assert.equal(judgeWebAction(wv("CLICK(point=(100,200))"), click), 1);
  assert.equal(judgeWebAction(wv("CLICK(point=(101, 200), element_info='Search')"), click), 0.05);
  assert.equal(judgeWebAction(wv("CLICK(point=(101, 200), element_info='Other')"), click), 0);
  const type = wv("TYPE(point=(5,5), text='abcd')");
  close(judgeWebAction(wv("TYPE(point=(5,5), text='abce')"), type), 0.75);
  close(judgeWebAction(wv("TYPE(point=(6,5), text='abce')"), type), 0.75 * 0.95);
  close(judgeWebAction(wv("TYPE(point=(6,5), text='zzzz')"), type), 0.05);
  assert.equal(judgeWebAction(wv("KEY_PRESS(key='Enter')"), wv("KEY_PRESS(key='Enter')")), 1);
  assert.equal(judgeWebAction(wv("KEY_PRESS(key='Return')"), wv("KEY_PRESS(key='Enter')")), 0.05);
  assert.equal(judgeWebAction(wv("KEY_PRESS(key='Tab')"), wv("KEY_PRESS(key='Enter')")), 0);
  const scroll = wv("SCROLL_DOWN(point=(5,5), distance=400)");
  close(judgeWebAction(wv("SCROLL_DOWN(point=(5,5), distance=300)"), scroll), 0.75);
  assert.equal(judgeWebAction(wv("SCROLL_UP(point=(5,5), distance=400)"), scroll), 0);
  close(judgeWebAction(wv("ANSWER(content='abcd')"), wv("ANSWER(content='abc')")), 0.75);
});

test("WebVoyager old style: labels, typed text, scroll exact, simple actions, answer", () => {
  assert.equal(judgeWebAction(wv("Click [12]"), wv("Click [12]")), 1);
  assert.equal(judgeWebAction(wv("Click [13]"), wv("Click [12]")), 0);
  close(judgeWebAction(wv("Type [3]; [abce]"), wv("Type [3]; [abcd]")), 0.75);
  assert.equal(judgeWebAction(wv("Type [4]; [abcd]"), wv("Type [3]; [abcd]")), 0);
  assert.equal(judgeWebAction(wv("Scroll [WINDOW]; [down]"), wv("Scroll [WINDOW]; [down]")), 1);
  assert.equal(judgeWebAction(wv("Scroll [WINDOW]; [up]"), wv("Scroll [WINDOW]; [down]")), 0);
  for (const a of ["Wait", "GoBack", "Google", "Bing"]) assert.equal(judgeWebAction(wv(a), wv(a)), 1);
  assert.equal(judgeWebAction(wv("Key; [Return]"), wv("Key; [Return]")), 1);
  close(judgeWebAction(wv("ANSWER; <content>abcd</content>"), wv("ANSWER; <content>abc</content>")), 0.75);
  assert.equal(
    judgeWebAction(wv("Click [1]"), wv("CLICK(point=(1,1))")),
    0,
    "formats never match each other",
  );
});

test("GUI verifiers read 4.5V output without <answer> (defect 10) and ignore boxes in the reasoning", () => {
  const v = makeVerifier({ verifier_type: "WebVoyager" });
  assert.deepEqual(
    v.extractAnswer(`<think>${box("Click [1]")}</think>Thought: t\nAction: ${box("Click [2]")}`),
    {
      style: "old",
      action: "Click",
      label: "2",
    },
  );
  const o = makeVerifier({ verifier_type: "OSWorld" });
  assert.equal((o.extractAnswer(`<think></think>${box("DONE()")}`) as { action: string }).action, "DONE");
});
