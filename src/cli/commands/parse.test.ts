import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { sequentialCallIds } from "../../protocol/tools.ts";
import { UsageError } from "../command.ts";
import { main } from "../main.ts";
import { captureIO } from "../testing.ts";
import { createParseCommand, parseCommand } from "./parse.ts";

const run = async (argv: string[], stdinText = "") => {
  const cap = captureIO(stdinText);
  const command = createParseCommand({ idGenerator: sequentialCallIds() });
  const code = await command.run(argv, cap.io);
  return { code, out: cap.out(), err: cap.err() };
};

const tmp = mkdtempSync(join(tmpdir(), "glmv-parse-"));
const toolsFile = join(tmp, "tools.json");
writeFileSync(
  toolsFile,
  JSON.stringify([
    {
      type: "function",
      function: {
        name: "get_quote",
        parameters: { type: "object", properties: { symbol: { type: "string" }, days: { type: "integer" } } },
      },
    },
  ]),
);
const CALL =
  "<think>Need it.</think>Let me check.\n<tool_call>get_quote\n<arg_key>symbol</arg_key>\n<arg_value>007</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>";

describe("glmv parse (batch)", () => {
  it("prints reasoning, content, answer, tool_calls and boxes; default family glm-4.6v", async () => {
    const r = await run(
      [],
      "<think>Find the cat.</think>The cat: <|begin_of_box|>[250,100,750,900]<|end_of_box|>",
    );
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out), {
      reasoning: "Find the cat.",
      content: "The cat: <|begin_of_box|>[250,100,750,900]<|end_of_box|>",
      answer: null,
      tool_calls: [],
      boxes: [{ x1: 250, y1: 100, x2: 750, y2: 900 }],
    });
  });
  it("--image-size adds pixel coordinates (spec §4.2 example)", async () => {
    const r = await run(
      ["--image-size", "1920x1080", "-"],
      "<|begin_of_box|>[250,100,750,900]<|end_of_box|> and <|begin_of_box|>[500,500]<|end_of_box|>",
    );
    assert.deepEqual(JSON.parse(r.out).boxes, [
      { x1: 250, y1: 100, x2: 750, y2: 900, pixels: { x1: 480, y1: 108, x2: 1440, y2: 972 } },
      { x: 500, y: 500, pixels: { x: 960, y: 540 } },
    ]);
  });
  it("--family glm-4.1v-thinking strips <answer> and fills answer", async () => {
    const r = await run(["--family", "4.1v"], "<think>\nR\n</think>\n<answer>\nThree.\n</answer>");
    const out = JSON.parse(r.out);
    assert.equal(out.answer, "Three.");
    assert.equal(out.content, "Three.");
    assert.equal(out.reasoning, "R");
  });
  it("--tools types arguments by schema; reads a FILE argument", async () => {
    const input = join(tmp, "reply.txt");
    writeFileSync(input, CALL);
    const r = await run(["--tools", toolsFile, input]);
    assert.deepEqual(JSON.parse(r.out).tool_calls, [
      {
        id: "call_000000000000000000000001",
        type: "function",
        function: { name: "get_quote", arguments: '{"symbol": "007", "days": 3}' },
      },
    ]);
    const untyped = await run([input]);
    assert.equal(JSON.parse(untyped.out).tool_calls[0].function.arguments, '{"symbol": "007", "days": 3}');
  });
  it("--no-thinking: everything is content", async () => {
    const r = await run(["--no-thinking"], "Plain </think> text");
    assert.equal(JSON.parse(r.out).content, "Plain </think> text");
    assert.equal(JSON.parse(r.out).reasoning, null);
  });
});

describe("glmv parse --stream", () => {
  it("prints one JSON line per delta and a final line equal to batch", async () => {
    const chunks = [
      "<thi",
      "nk>Need",
      " it.</th",
      "ink>Let me check.\n<tool",
      "_call>get_quote\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>",
    ];
    const r = await run(["--stream", "--tools", toolsFile], JSON.stringify(chunks));
    const lines = r.out
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines.slice(0, -1), [
      { reasoning_content: "Need" },
      { reasoning_content: " it." },
      { content: "Let me check." },
      { content: "\n" },
      {
        tool_calls: [
          {
            index: 0,
            id: "call_000000000000000000000001",
            type: "function",
            function: { name: "get_quote", arguments: "" },
          },
        ],
      },
      { tool_calls: [{ index: 0, function: { arguments: '{"days": 3' } }] },
      { tool_calls: [{ index: 0, function: { arguments: "}" } }] },
    ]);
    const batch = await run(["--tools", toolsFile], chunks.join(""));
    assert.deepEqual(lines.at(-1), { final: JSON.parse(batch.out) });
  });
  it("rejects input that is not a JSON array of strings", async () => {
    await assert.rejects(run(["--stream"], "not json"), /JSON array of chunk strings/);
    await assert.rejects(run(["--stream"], "[1, 2]"), /JSON array of chunk strings/);
  });
});

describe("glmv parse errors", () => {
  it("user mistakes are UsageErrors with a hint", async () => {
    await assert.rejects(
      run(["--family", "gpt-4"]),
      (e: Error) => e instanceof UsageError && /glm-4\.6v/.test(e.message),
    );
    await assert.rejects(
      run(["--image-size", "big"]),
      (e: Error) => e instanceof UsageError && /1920x1080/.test(e.message),
    );
    await assert.rejects(run(["--bogus"]), UsageError);
    await assert.rejects(run(["a", "b"]), UsageError);
  });
  it("a missing file or bad tools file gives a clear message", async () => {
    await assert.rejects(run([join(tmp, "nope.txt")]), /no such file/);
    const bad = join(tmp, "bad-tools.json");
    writeFileSync(bad, '{"x": 1}');
    await assert.rejects(run(["--tools", bad]), /JSON list of tools/);
  });
  it("through main: exit 2 for usage errors, 1 for bad input, --help teaches", async () => {
    const cap = captureIO();
    assert.equal(await main(["parse", "--image-size", "x"], cap.io), 2);
    assert.match(cap.err(), /--image-size must look like 1920x1080/);
    const cap2 = captureIO("[1]");
    assert.equal(await main(["parse", "--stream"], cap2.io), 1);
    const cap3 = captureIO();
    assert.equal(await main(["parse", "--help"], cap3.io), 0);
    assert.match(cap3.out(), /Examples:/);
    assert.equal(parseCommand.help, cap3.out());
  });
});

describe("glmv parse as a child process", () => {
  it("node bin/glmv.ts parse reads a file and prints JSON", async () => {
    const input = join(tmp, "child.txt");
    writeFileSync(
      input,
      "<think>Find the cat.</think>The cat: <|begin_of_box|>[250,100,750,900]<|end_of_box|>",
    );
    const { stdout } = await promisify(execFile)(process.execPath, [
      "bin/glmv.ts",
      "parse",
      "--image-size",
      "1920x1080",
      input,
    ]);
    const out = JSON.parse(stdout);
    assert.equal(out.reasoning, "Find the cat.");
    assert.deepEqual(out.boxes[0].pixels, { x1: 480, y1: 108, x2: 1440, y2: 972 });
  });
  it("reads standard input and reports random call ids", async () => {
    const child = execFile(process.execPath, ["bin/glmv.ts", "parse", "-"]);
    child.stdin?.end("<tool_call>get_time\n</tool_call>");
    let stdout = "";
    child.stdout?.on("data", (c) => (stdout += c));
    const code = await new Promise((resolve) => child.on("close", resolve));
    assert.equal(code, 0);
    assert.match(JSON.parse(stdout).tool_calls[0].id, /^call_[0-9a-f]{24}$/);
  });
});
