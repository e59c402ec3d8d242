import assert from "node:assert/strict";
import { test } from "node:test";
import { editSimilarity, lcsLength, lcsRatio, levenshtein } from "./text.ts";

function levenshteinDp(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++)
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[y.length];
}

function lcsDp(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = new Array(y.length + 1).fill(0);
  for (let i = 1; i <= x.length; i++) {
    const row = [0];
    for (let j = 1; j <= y.length; j++)
      row[j] = x[i - 1] === y[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], row[j - 1]);
    prev = row;
  }
  return prev[y.length];
}

function randomString(seed: { v: number }, length: number, alphabet: string): string {
  let s = "";
  for (let i = 0; i < length; i++) {
    seed.v = (seed.v * 1103515245 + 12345) % 2147483648;
    s += alphabet[seed.v % alphabet.length];
  }
  return s;
}

test("levenshtein: known values", () => {
  assert.equal(levenshtein("kitten", "sitting"), 3);
  assert.equal(levenshtein("", "abc"), 3);
  assert.equal(levenshtein("abc", ""), 3);
  assert.equal(levenshtein("flaw", "lawn"), 2);
  assert.equal(levenshtein("中文字", "中字"), 1);
  assert.equal(levenshtein("a😀b", "ab"), 1, "counts code points, not UTF-16 units");
});

test("levenshtein and LCS agree with the dynamic programme on random strings across block sizes", () => {
  const seed = { v: 7 };
  for (let i = 0; i < 300; i++) {
    const a = randomString(seed, (i * 7) % 150, "abcde ");
    const b = randomString(seed, (i * 13) % 170, "abcdef");
    assert.equal(levenshtein(a, b), levenshteinDp(a, b), `lev(${a}, ${b})`);
    assert.equal(lcsLength(a, b), lcsDp(a, b), `lcs(${a}, ${b})`);
  }
});

test("similarities are normalised by the longer string", () => {
  assert.equal(editSimilarity("abcd", "abcf"), 0.75);
  assert.equal(editSimilarity("", ""), 1);
  assert.equal(lcsRatio("abcd", "acd"), 0.75);
  assert.equal(lcsRatio("", ""), 1);
  assert.equal(lcsRatio("abc", ""), 0);
});
