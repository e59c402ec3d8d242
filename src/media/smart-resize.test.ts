import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MediaError } from "./errors.ts";
import {
  CLASS_DEFAULT_IMAGE_BUDGET,
  gridTokens,
  imageTokens,
  pythonRound,
  smartResize,
  VIDEO_BUDGETS,
} from "./smart-resize.ts";

const OCR = { minPixels: 12_544, maxPixels: 9_633_792 };
const CLASS = CLASS_DEFAULT_IMAGE_BUDGET;
const VLLM = { minPixels: 12_544, maxPixels: 47_040_000 };

/** Spec §6.4: input W×H → [resized W, H, tokens] for the OCR, class-default and vLLM-example budgets. */
type Cell = [number, number, number];
const SAME = Symbol("same");
const TABLE: Array<[number, number, Cell, Cell | typeof SAME, Cell | typeof SAME]> = [
  [20, 20, [84, 84, 9], SAME, SAME],
  [56, 56, [84, 84, 9], SAME, SAME],
  [100, 100, [112, 112, 16], SAME, SAME],
  [182, 182, [168, 168, 36], SAME, SAME],
  [224, 224, [224, 224, 64], SAME, SAME],
  [512, 512, [504, 504, 324], SAME, SAME],
  [640, 480, [644, 476, 391], SAME, SAME],
  [1024, 1024, [1036, 1036, 1369], SAME, SAME],
  [1280, 720, [1288, 728, 1196], SAME, SAME],
  [1920, 1080, [1932, 1092, 2691], SAME, SAME],
  [1170, 2532, [1176, 2520, 3780], SAME, SAME],
  [2480, 3508, [1820, 2604, 6045], [2016, 2856, 7344], [2492, 3500, 11125]],
  [3840, 2160, [2912, 1624, 6032], [3220, 1792, 7360], [3836, 2156, 10549]],
  [4032, 3024, [2520, 1876, 6030], [2800, 2100, 7500], [4032, 3024, 15552]],
  [6000, 4000, [2688, 1792, 6144], [2968, 1960, 7420], [5936, 3948, 29892]],
  [3, 500, [28, 4676, 167], SAME, SAME],
  [10000, 60, [9996, 56, 714], SAME, SAME],
];

describe("smartResize: spec §6.4 worked examples", () => {
  for (const [w, h, ocr, cls, vllm] of TABLE) {
    const cells: Array<[string, typeof OCR, Cell]> = [
      ["OCR 9,633,792", OCR, ocr],
      ["class 11,760,000", CLASS, cls === SAME ? ocr : cls],
      ["vLLM 47,040,000", VLLM, vllm === SAME ? ocr : vllm],
    ];
    for (const [name, budget, [ew, eh, et]] of cells) {
      it(`${w}×${h} with ${name} → ${ew}×${eh}, ${et} tokens`, () => {
        const size = smartResize(h, w, budget);
        assert.deepEqual(size, { width: ew, height: eh });
        assert.equal(gridTokens(size), et);
        assert.equal(imageTokens(w, h, budget), et);
      });
    }
  }
  for (const [w, h] of [
    [10000, 40],
    [5, 2000],
  ]) {
    for (const budget of [OCR, CLASS, VLLM]) {
      it(`${w}×${h} with max ${budget.maxPixels} is an aspect-ratio error`, () => {
        assert.throws(
          () => smartResize(h, w, budget),
          (e: unknown) => e instanceof MediaError && e.code === "aspect-ratio" && /200/.test(e.message),
        );
      });
    }
  }
});

describe("pythonRound vs Math.round", () => {
  it("rounds halves to even like Python", () => {
    assert.equal(pythonRound(2.5), 2);
    assert.equal(pythonRound(3.5), 4);
    assert.equal(pythonRound(6.5), 6);
    assert.equal(pythonRound(0.5), 0);
    assert.equal(pythonRound(1.5), 2);
    assert.equal(pythonRound(2.4999), 2);
    assert.equal(pythonRound(2.5001), 3);
    assert.equal(pythonRound(7), 7);
  });

  /** Spec §6.4 second table: Python round vs naive Math.round, budget 9,633,792. */
  const naive = (h: number, w: number) => ({
    width: Math.round(w / 28) * 28,
    height: Math.round(h / 28) * 28,
  });
  const cases: Array<[number, number, [number, number, number], [number, number, number]]> = [
    [182, 182, [168, 168, 36], [196, 196, 49]],
    [406, 406, [392, 392, 196], [420, 420, 225]],
    [1022, 574, [1008, 560, 720], [1036, 588, 777]],
  ];
  for (const [w, h, [pw, ph, pt], [nw, nh, nt]] of cases) {
    it(`${w}×${h}: Python round gives ${pw}×${ph} (${pt} tokens), Math.round would give ${nw}×${nh} (${nt})`, () => {
      const size = smartResize(h, w, OCR);
      assert.deepEqual(size, { width: pw, height: ph });
      assert.equal(gridTokens(size), pt);
      const wrong = naive(h, w);
      assert.deepEqual(wrong, { width: nw, height: nh });
      assert.equal(gridTokens(wrong), nt);
    });
  }
});

describe("smartResize: errors and video budgets", () => {
  it("refuses fewer than 2 frames", () => {
    assert.throws(() => smartResize(100, 100, { ...OCR, numFrames: 1 }), /temporal patch/);
  });
  it("refuses a zero or fractional size", () => {
    assert.throws(
      () => smartResize(0, 100, OCR),
      (e: unknown) => e instanceof MediaError && e.code === "corrupt",
    );
    assert.throws(() => smartResize(10.5, 100, OCR), MediaError);
  });
  it("uses image tokens per family", () => {
    assert.equal(imageTokens(1920, 1080, "glm-ocr"), 2691);
    assert.equal(imageTokens(6000, 4000, "glm-4.6v"), 6144);
  });
  /** Spec §7 table (4.1V rule): frame size for T frames with the 47,040,000 video budget. */
  const videoRows: Array<[number, number, number, number, number, number]> = [
    [1920, 1080, 20, 1932, 1092, 2691],
    [1920, 1080, 120, 812, 448, 464],
    [1280, 720, 240, 588, 308, 231],
    [1920, 1080, 600, 364, 196, 91],
    [640, 360, 10, 644, 364, 299],
  ];
  for (const [w, h, t, ew, eh, tokens] of videoRows) {
    it(`video ${w}×${h} with ${t} frames → ${ew}×${eh}, ${tokens} tokens per pair`, () => {
      const size = smartResize(h, w, { ...VIDEO_BUDGETS["glm-4.1v-thinking"], numFrames: t });
      assert.deepEqual(size, { width: ew, height: eh });
      assert.equal(gridTokens(size), tokens);
    });
  }
});
