import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  dequantizeQ4_0,
  dequantizeQ8_0,
  f16BitsToF32,
  f32ToF16Bits,
  quantizeQ4_0,
  quantizeQ8_0,
} from "./quant.ts";
import { GgufFormatError, readGguf, readTensorF32 } from "./reader.ts";
import { gv } from "./types.ts";
import { encodeGguf, GgufWriteError, writeGguf } from "./writer.ts";

const dir = mkdtempSync(join(tmpdir(), "glmv-gguf-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function ramp(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.37) * 2;
  return a;
}

test("round-trips metadata of every type and tensors of every written type", () => {
  const path = join(dir, "rt.gguf");
  const metadata = {
    "general.architecture": gv.str("glm4"),
    u8: gv.u8(200),
    i8: gv.i8(-5),
    u16: gv.u16(60000),
    i16: gv.i16(-30000),
    u32: gv.u32(4_000_000_000),
    i32: gv.i32(-7),
    f32: gv.f32(1.5),
    f64: gv.f64(Math.PI),
    u64: gv.u64(2n ** 40n),
    i64: gv.i64(-(2n ** 40n)),
    bool: gv.bool(true),
    "unicode ✓": gv.str("héllo ✓"),
    strs: gv.strings(["a", "", "Ġthe"]),
    ints: gv.i32s([2, 1, 1, 0]),
    floats: gv.f32s([0.5, -2]),
    bools: gv.bools([true, false]),
    "general.alignment": gv.u32(64),
  };
  const values = ramp(64 * 3);
  writeGguf(path, {
    metadata,
    tensors: [
      { name: "a.f32", ne: [64, 3], type: "F32", data: values },
      { name: "b.f16", ne: [64, 3], type: "F16", data: values },
      { name: "c.q8", ne: [64, 3], type: "Q8_0", data: () => values },
      { name: "d.q4", ne: [64, 3], type: "Q4_0", data: values },
    ],
  });
  const file = readGguf(path);
  assert.equal(file.version, 3);
  assert.equal(file.alignment, 64);
  assert.equal(file.fileSize % 64, 0);
  for (const [k, v] of Object.entries(metadata)) assert.deepEqual(file.metadata.get(k), v, k);
  assert.deepEqual(
    file.tensors.map((t) => [t.name, t.typeName, t.ne, t.fileOffset % 64]),
    [
      ["a.f32", "F32", [64, 3], 0],
      ["b.f16", "F16", [64, 3], 0],
      ["c.q8", "Q8_0", [64, 3], 0],
      ["d.q4", "Q4_0", [64, 3], 0],
    ],
  );
  assert.deepEqual(readTensorF32(file, "a.f32"), values);
  const tol = { "b.f16": 2e-3, "c.q8": 2e-2, "d.q4": 0.3 } as const;
  for (const [name, t] of Object.entries(tol)) {
    const got = readTensorF32(file, name);
    let max = 0;
    for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(got[i] - values[i]));
    assert.ok(max < t, `${name}: max error ${max}`);
  }
  // The in-memory encoder makes the same bytes.
  assert.deepEqual(
    encodeGguf({
      metadata,
      tensors: [
        { name: "a.f32", ne: [64, 3], type: "F32", data: values },
        { name: "b.f16", ne: [64, 3], type: "F16", data: values },
        { name: "c.q8", ne: [64, 3], type: "Q8_0", data: values },
        { name: "d.q4", ne: [64, 3], type: "Q4_0", data: values },
      ],
    }),
    new Uint8Array(readFileSync(path)),
  );
});

test("f16 conversion rounds to nearest even and handles the extremes", () => {
  assert.equal(f32ToF16Bits(1), 0x3c00);
  assert.equal(f32ToF16Bits(-2), 0xc000);
  assert.equal(f32ToF16Bits(65504), 0x7bff);
  assert.equal(f32ToF16Bits(1e6), 0x7c00);
  assert.equal(f32ToF16Bits(2 ** -24), 0x0001);
  assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // tie → even
  assert.equal(f16BitsToF32(0x3555), 0.333251953125);
});

test("Q8_0 and Q4_0 blocks follow ggml's layout", () => {
  const x = new Float32Array(32);
  for (let i = 0; i < 32; i++) x[i] = i - 16; // max |x| = 16 at i = 0 (value −16)
  const q4 = quantizeQ4_0(x);
  assert.equal(q4.length, 18);
  // d = max / −8 = 2; element 0 → −16/2 + 8.5 → 0 (low nibble); element 16 → 0/2 + 8.5 → 8 (high nibble).
  assert.equal(f16BitsToF32(q4[0] | (q4[1] << 8)), 2);
  assert.equal(q4[2], 0 | (8 << 4));
  assert.deepEqual(dequantizeQ4_0(q4, 32)[0], -16);
  const q8 = quantizeQ8_0(x);
  assert.equal(q8.length, 34);
  const back = dequantizeQ8_0(q8, 32);
  assert.ok(Math.abs(back[31] - 15) < 0.1);
  assert.throws(() => quantizeQ8_0(new Float32Array(31)), /multiple of 32/);
});

test("writer rejects wrong sizes and duplicate names", () => {
  assert.throws(
    () =>
      encodeGguf({ metadata: {}, tensors: [{ name: "x", ne: [4], type: "F32", data: new Float32Array(3) }] }),
    GgufWriteError,
  );
  assert.throws(
    () =>
      encodeGguf({
        metadata: {},
        tensors: [{ name: "x", ne: [16], type: "Q8_0", data: new Float32Array(16) }],
      }),
    /multiple of 32/,
  );
  const t = { name: "x", ne: [4], type: "F32" as const, data: new Float32Array(4) };
  assert.throws(() => encodeGguf({ metadata: {}, tensors: [t, t] }), /duplicate/);
});

test("reader gives clear errors for truncated and corrupt files", () => {
  const good = encodeGguf({
    metadata: { "general.architecture": gv.str("glm4"), toks: gv.strings(["a", "b", "c"]) },
    tensors: [{ name: "w", ne: [32, 2], type: "F32", data: ramp(64) }],
  });
  const write = (name: string, bytes: Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  assert.throws(() => readGguf(join(dir, "missing.gguf")), /cannot open/);
  assert.throws(() => readGguf(write("empty.gguf", new Uint8Array(0))), /not a GGUF file/);
  assert.throws(
    () => readGguf(write("text.gguf", Buffer.from("hello world, this is not a model file"))),
    /magic/,
  );
  const v9 = good.slice();
  v9[4] = 9;
  assert.throws(() => readGguf(write("v9.gguf", v9)), /version 9/);
  assert.throws(
    () => readGguf(write("cut-header.gguf", good.slice(0, 60))),
    (e: unknown) => {
      assert.ok(e instanceof GgufFormatError);
      assert.match(e.message, /truncated/);
      return true;
    },
  );
  assert.throws(
    () => readGguf(write("cut-data.gguf", good.slice(0, good.length - 40))),
    /ends at byte .* truncated/,
  );
  const badType = good.slice();
  // Corrupt the first key's value type (after magic, version, counts and the key string).
  const keyLen = "general.architecture".length;
  new DataView(badType.buffer).setUint32(24 + 8 + keyLen, 99, true);
  assert.throws(() => readGguf(write("badtype.gguf", badType)), /unknown value type 99/);
});
