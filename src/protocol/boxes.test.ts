import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  boxCenter,
  boxSpans,
  extractBoxContents,
  extractBoxedAnswer,
  findBoxes,
  findCoordinatesNearEnd,
  parseCoordinates,
  roundHalfEven,
  toPixels,
  toThousandths,
} from "./boxes.ts";

const B = (inner: string) => `<|begin_of_box|>${inner}<|end_of_box|>`;
const box = (x1: number, y1: number, x2: number, y2: number) => ({ x1, y1, x2, y2 });

describe("bracket styles (spec §4.2)", () => {
  const styles: [string, string][] = [
    ["[]", "[250,100,750,900]"],
    ["[[]]", "[[250, 100, 750, 900]]"],
    ["()", "(250,100,750,900)"],
    ["<>", "<250,100,750,900>"],
    ["{}", "{250,100,750,900}"],
    ["<bbox>", "<bbox>250 100 750 900</bbox>"],
    ["bare", "250, 100, 750, 900"],
    ["GUI mobile", "box_2d: [[250,100,750,900]]"],
  ];
  for (const [name, inner] of styles) {
    it(name, () => assert.deepEqual(findBoxes(`The cat: ${B(inner)}`), [box(250, 100, 750, 900)]));
  }
  it("box list", () => {
    assert.deepEqual(findBoxes(B("[[10,20,30,40],[50,60,70,80]]")), [
      box(10, 20, 30, 40),
      box(50, 60, 70, 80),
    ]);
  });
  it("points, GUI PC start_box and a polygon as points", () => {
    assert.deepEqual(findBoxes(B("[500,300]")), [{ x: 500, y: 300 }]);
    assert.deepEqual(findBoxes(B("click(start_box='[12, 34]')")), [{ x: 12, y: 34 }]);
    assert.deepEqual(parseCoordinates("[[1,2],[3,4],[5,6]]"), [
      { x: 1, y: 2 },
      { x: 3, y: 4 },
      { x: 5, y: 6 },
    ]);
  });
  it("several boxes per answer, in order", () => {
    const text = `Dog ${B("[1,2,3,4]")} and cat ${B("(5,6,7,8)")} at ${B("[9,10]")}`;
    assert.deepEqual(findBoxes(text), [box(1, 2, 3, 4), box(5, 6, 7, 8), { x: 9, y: 10 }]);
  });
  it("ignores coordinates outside box tokens, mismatched brackets and other group sizes", () => {
    assert.deepEqual(findBoxes("see [1,2,3,4]"), []);
    assert.deepEqual(parseCoordinates("[1,2,3,4)"), []);
    assert.deepEqual(parseCoordinates("[1,2,3]"), []);
    assert.deepEqual(findBoxes(B("Paris")), []);
    assert.deepEqual(findBoxes(`${B("[1,2,3,4]")}${"<|begin_of_box|>[5,6,7,8]"}`), [box(1, 2, 3, 4)]);
  });
  it("decimals are kept as written", () =>
    assert.deepEqual(parseCoordinates("[0.5, 1.25]"), [{ x: 0.5, y: 1.25 }]));
  it("boxSpans returns raw inner texts", () =>
    assert.deepEqual(boxSpans(`${B(" a ")}x${B("b")}`), [" a ", "b"]));
  it("findCoordinatesNearEnd scans the tail", () => {
    const text = `[1,2,3,4]${"x".repeat(3000)}[5,6,7,8]`;
    assert.deepEqual(findCoordinatesNearEnd(text), [box(5, 6, 7, 8)]);
  });
});

describe("thousandths ↔ pixels", () => {
  it("spec example: 1920×1080, [250,100,750,900] → [480,108,1440,972]", () => {
    assert.deepEqual(
      toPixels(box(250, 100, 750, 900), { width: 1920, height: 1080 }),
      box(480, 108, 1440, 972),
    );
  });
  it("clamps to [0, 999] before converting", () => {
    assert.deepEqual(toPixels(box(-5, 0, 1000, 1200), { width: 1000, height: 100 }), box(0, 0, 999, 100));
  });
  it("points convert too", () =>
    assert.deepEqual(toPixels({ x: 500, y: 500 }, { width: 640, height: 480 }), { x: 320, y: 240 }));
  it("rounds like Python (half to even)", () => {
    assert.equal(roundHalfEven(2.5), 2);
    assert.equal(roundHalfEven(3.5), 4);
    assert.equal(roundHalfEven(-1.5), -2);
    assert.equal(roundHalfEven(2.4), 2);
    // 1/1000 · 500 = 0.5 → 0 (Python), where Math.round gives 1.
    assert.deepEqual(toPixels({ x: 1, y: 3 }, { width: 500, height: 500 }), { x: 0, y: 2 });
  });
  it("inverse conversion", () => {
    assert.deepEqual(
      toThousandths(box(480, 108, 1440, 972), { width: 1920, height: 1080 }),
      box(250, 100, 750, 900),
    );
    assert.deepEqual(toThousandths({ x: 1920, y: 0 }, { width: 1920, height: 1080 }), { x: 999, y: 0 });
  });
  it("rejects a bad size with a clear error", () => {
    assert.throws(() => toPixels({ x: 1, y: 1 }, { width: 0, height: 10 }), /image size must be positive/);
  });
  it("box centre", () => assert.deepEqual(boxCenter(box(100, 100, 300, 200)), { x: 200, y: 150 }));
});

describe("reward box extraction (spec §11.2)", () => {
  it("\\boxed{} wins when present; every top-level one; nested braces kept", () => {
    assert.deepEqual(extractBoxContents(`x ${B("no")} \\boxed{\\frac{1}{2}} and \\boxed{ a \\boxed{b} }`), [
      "\\frac{1}{2}",
      " a \\boxed{b} ",
    ]);
  });
  it("unclosed \\boxed is ignored", () =>
    assert.deepEqual(extractBoxContents("\\boxed{1} \\boxed{2"), ["1"]));
  it("box tokens are stack-matched, outermost pairs, trimmed, unmatched ignored", () => {
    assert.deepEqual(
      extractBoxContents(`<|end_of_box|>${B(" 42 ")} ${B(`a ${B("b")} c`)} <|begin_of_box|>x`),
      ["42", "a <|begin_of_box|>b<|end_of_box|> c"],
    );
  });
  it("extractBoxedAnswer needs exactly one result", () => {
    assert.equal(extractBoxedAnswer("The answer is \\boxed{ 3/2 }."), "3/2");
    assert.equal(extractBoxedAnswer(B(" 7 ")), "7");
    assert.equal(extractBoxedAnswer("none"), null);
    assert.equal(extractBoxedAnswer("\\boxed{1}\\boxed{2}"), null);
  });
});
