import assert from "node:assert/strict";
import { test } from "node:test";
import { formatModelTable } from "./list.ts";

test("the list table aligns columns and marks incomplete models", () => {
  const base = { repo: "r", commit: "c", modelPath: "/m", family: undefined };
  const table = formatModelTable([
    {
      ...base,
      name: "glm-4.6v-flash",
      ref: "a",
      quant: "Q4_K_M",
      size: 7_146_633_568,
      pulledAt: "2026-11-26T16:50:12.000Z",
      complete: true,
    },
    {
      ...base,
      name: "glm-ocr:F16",
      ref: "b",
      quant: "F16",
      size: 2_000_000_000,
      pulledAt: "2026-11-27T08:05:00.000Z",
      complete: false,
    },
  ]);
  assert.equal(
    table,
    [
      "NAME            QUANT   SIZE     PULLED (UTC)",
      "glm-4.6v-flash  Q4_K_M  7.15 GB  2026-11-26 16:50",
      "glm-ocr:F16     F16     2.00 GB  2026-11-27 08:05  (incomplete: pull again)",
      "",
    ].join("\n"),
  );
});
