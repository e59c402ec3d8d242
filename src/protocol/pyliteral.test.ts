import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  dumpsPython,
  fromPlain,
  PyFloat,
  parseJsonValue,
  parsePythonLiteral,
  pythonFloatRepr,
  pythonJsonString,
  toPlain,
} from "./pyliteral.ts";

const dumpJson = (t: string) => {
  const v = parseJsonValue(t);
  return v === undefined ? undefined : dumpsPython(v);
};
const dumpPy = (t: string) => {
  const v = parsePythonLiteral(t);
  return v === undefined ? undefined : dumpsPython(v);
};

describe("pythonFloatRepr matches Python repr(float)", () => {
  // Expected strings produced by CPython 3: json.dumps([...]).
  const cases: [number, string][] = [
    [1.0, "1.0"],
    [1e16, "1e+16"],
    [1.5e-7, "1.5e-07"],
    [1e-5, "1e-05"],
    [0.0001, "0.0001"],
    [123456789012345680, "1.2345678901234568e+17"],
    [-0.0, "-0.0"],
    [0, "0.0"],
    [1e22, "1e+22"],
    [0.1 + 0.2, "0.30000000000000004"],
    [1000.5, "1000.5"],
    [1234567890123456.0, "1234567890123456.0"],
    [-2.5, "-2.5"],
  ];
  for (const [value, expected] of cases) {
    it(`${value} → ${expected}`, () => assert.equal(pythonFloatRepr(value), expected));
  }
});

describe("parseJsonValue (strict JSON, order preserving)", () => {
  it("keeps ints and floats apart and dict order, even numeric-looking keys", () => {
    assert.equal(
      dumpJson('{"b": 1, "2": 1.0, "a": [1e5, -0, 10]}'),
      '{"b": 1, "2": 1.0, "a": [100000.0, 0, 10]}',
    );
  });
  it("keeps big ints exactly", () =>
    assert.equal(dumpJson("123456789012345678901234567890"), "123456789012345678901234567890"));
  it("rejects NaN, Infinity, overflow to infinity and leading zeros", () => {
    for (const t of ["NaN", "Infinity", "-Infinity", "1e999", "007", "[1e400]"])
      assert.equal(parseJsonValue(t), undefined, t);
  });
  it("rejects Python spellings and trailing commas", () => {
    for (const t of ["True", "None", "'a'", "[1,]", "(1, 2)", '{"a": 1,}'])
      assert.equal(parseJsonValue(t), undefined, t);
  });
  it("decodes escapes and keeps non-ASCII", () => {
    assert.equal(dumpJson('"caf\\u00e9 \\/ \\n 東京"'), '"café / \\n 東京"');
  });
  it("last duplicate key wins, first position kept (Python dict)", () => {
    assert.equal(dumpJson('{"a": 1, "b": 2, "a": 3}'), '{"a": 3, "b": 2}');
  });
  it("rejects raw control characters in strings", () => assert.equal(parseJsonValue('"a\nb"'), undefined));
});

describe("parsePythonLiteral (ast.literal_eval subset)", () => {
  const ok: [string, string][] = [
    ["True", "true"],
    ["False", "false"],
    ["None", "null"],
    ["'single'", '"single"'],
    ['"double"', '"double"'],
    ["'it\\'s'", '"it\'s"'],
    ["'''tri\nple'''", '"tri\\nple"'],
    ["r'\\d+'", '"\\\\d+"'],
    ["u'x'", '"x"'],
    ["'a' 'b'", '"ab"'],
    ["'\\x41\\u00e9\\101'", '"Aé A"'.replace(" ", "")],
    ["(1, 2)", "[1, 2]"],
    ["(1,)", "[1]"],
    ["()", "[]"],
    ["(5)", "5"],
    ["1, 2", "[1, 2]"],
    ["[1, 'a', None,]", '[1, "a", null]'],
    ["{'a': (1, 2), 'b': {'c': True}}", '{"a": [1, 2], "b": {"c": true}}'],
    ["{1: 'x', None: 2, False: 3, 1.5: 4}", '{"1": "x", "null": 2, "false": 3, "1.5": 4}'],
    ["0x1F", "31"],
    ["0o17", "15"],
    ["0b101", "5"],
    ["1_000", "1000"],
    ["-3", "-3"],
    ["+3.5", "3.5"],
    ["1.", "1.0"],
    [".5", "0.5"],
    ["1e3", "1000.0"],
    ["00", "0"],
    ["'東京'", '"東京"'],
  ];
  for (const [text, expected] of ok) it(`${text} → ${expected}`, () => assert.equal(dumpPy(text), expected));
  const bad = [
    "007",
    "NaN",
    "inf",
    "float('nan')",
    "1e999",
    "{1, 2}",
    "b'x'",
    "f'x'",
    "1+2j",
    "2j",
    "--1",
    "[1 2]",
    "'unterminated",
    "'new\nline'",
    "{(1, 2): 3}",
    "{[1]: 3}",
    "x",
    "true",
    "'\\N{BULLET}'",
    "",
  ];
  for (const text of bad)
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parsePythonLiteral(text), undefined));
});

describe("pythonJsonString", () => {
  it("escapes like json.dumps(ensure_ascii=False)", () => {
    assert.equal(
      pythonJsonString('a"b\\c\n\r\t\b\f\x01\x7f é 😀 \u2028'),
      '"a\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\x7f é 😀 \u2028"',
    );
  });
  it("escapes lone surrogates", () => assert.equal(pythonJsonString("\ud800"), '"\\ud800"'));
});

describe("fromPlain / toPlain", () => {
  it("round-trips plain data", () => {
    const plain = { a: 1, b: 2.5, c: [true, null, "x"], d: { e: -1 } };
    assert.deepEqual(toPlain(fromPlain(plain)), plain);
    assert.equal(dumpsPython(fromPlain(plain)), '{"a": 1, "b": 2.5, "c": [true, null, "x"], "d": {"e": -1}}');
  });
  it("keeps huge ints as bigint", () => assert.equal(toPlain(10n ** 30n), 10n ** 30n));
  it("PyFloat passes through", () => assert.equal(dumpsPython(fromPlain(new PyFloat(2))), "2.0"));
});
