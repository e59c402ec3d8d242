import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { type ImageSize, toPixels } from "../../protocol/boxes.ts";
import {
  DEFAULT_FAMILY,
  FAMILY_IDS,
  type FamilyId,
  resolveFamilyId,
  UnknownFamilyError,
} from "../../protocol/families.ts";
import { parseOutput } from "../../protocol/parse.ts";
import { StreamParser } from "../../protocol/stream.ts";
import type { Box, ParsedOutput, ParseOptions, ToolDefinition } from "../../protocol/types.ts";
import { type Command, type CommandIO, readAll, UsageError } from "../command.ts";

const HELP = `Usage: glmv parse [--family F] [--no-thinking] [--tools tools.json] [--stream] [--image-size WxH] [FILE|-]

Parses raw GLM-V model output (everything generated after the prompt, special tokens kept) into
reasoning, content, the GLM-4.1V answer, tool calls and grounding boxes: the same parser the server
and the other commands use. Reads FILE, or standard input when FILE is "-" or missing.

Prints one JSON object:
  {"reasoning", "content", "answer", "tool_calls", "boxes"}
  reasoning   text inside <think>…</think> (null when the model did not think)
  content     the visible answer (4.1V: <answer> tags removed; box tokens kept as text)
  answer      GLM-4.1V only: the inner text of <answer> (null otherwise)
  tool_calls  OpenAI-style calls: {"id", "type": "function", "function": {"name", "arguments"}}
  boxes       grounding boxes {"x1","y1","x2","y2"} and points {"x","y"} in thousandths (0-999)
              found inside <|begin_of_box|>…<|end_of_box|>; with --image-size each one also gets
              "pixels" in the original image

Options:
  --family F            model family (default ${DEFAULT_FAMILY}): ${FAMILY_IDS.join(", ")}
                        (short forms such as 4.1v, 4.6v-flash, ocr work too)
  --no-thinking         the request had enable_thinking=false: everything generated is content
  --prompt-opened-thinking
                        the prompt itself ended with <think>: generation starts as reasoning
  --tools FILE          the request's tools (a JSON list of OpenAI tools, or {"tools": [...]}); their
                        schemas type the arguments (string properties are kept verbatim)
  --stream              the input is a JSON array of chunk strings; print one JSON line per delta
                        ({"reasoning_content"}, {"content"} or {"tool_calls"}), then {"final": {...}}
  --image-size WxH      original image size in pixels, e.g. 1920x1080, to add pixel coordinates
  -h, --help            this text

Examples:
  echo '<think>Find the cat.</think>The cat: <|begin_of_box|>[250,100,750,900]<|end_of_box|>' \\
    | glmv parse --image-size 1920x1080
  glmv parse --family glm-4.1v-thinking output.txt
  glmv parse --tools tools.json reply.txt
  echo '["<thi", "nk>Hmm</th", "ink>Hi"]' | glmv parse --stream
`;

/** The JSON shape `glmv parse` prints for a box: thousandths plus, with --image-size, pixels. */
type PrintedBox = Box & { pixels?: Box };

/** The JSON object `glmv parse` prints (also the `final` line of --stream). */
export interface PrintedParse {
  reasoning: string | null;
  content: string | null;
  answer: string | null;
  tool_calls: ParsedOutput["toolCalls"];
  boxes: PrintedBox[];
}

/** Thrown when the input or a --tools file is not in the expected format. */
export class ParseInputError extends Error {
  override name = "ParseInputError";
}

/** Parses "WxH" (e.g. 1920x1080). */
export function parseImageSize(text: string): ImageSize {
  const match = /^(\d+)[xX×](\d+)$/.exec(text.trim());
  if (!match || Number(match[1]) <= 0 || Number(match[2]) <= 0) {
    throw new UsageError(`--image-size must look like 1920x1080 (width x height in pixels), got "${text}"`);
  }
  return { width: Number(match[1]), height: Number(match[2]) };
}

/** Converts a ParsedOutput to the printed JSON shape. */
export function toPrinted(output: ParsedOutput, imageSize?: ImageSize): PrintedParse {
  return {
    reasoning: output.reasoning,
    content: output.content,
    answer: output.answer,
    tool_calls: output.toolCalls,
    boxes: output.boxes.map((box) => (imageSize ? { ...box, pixels: toPixels(box, imageSize) } : { ...box })),
  };
}

function parseTools(text: string, path: string): ToolDefinition[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ParseInputError(`--tools ${path} is not valid JSON (${(error as Error).message})`);
  }
  const list = Array.isArray(data) ? data : isRecord(data) && Array.isArray(data.tools) ? data.tools : null;
  if (!list) {
    throw new ParseInputError(
      `--tools ${path} must hold a JSON list of tools ([{"type": "function", "function": {...}}]) or {"tools": [...]}`,
    );
  }
  list.forEach((tool, i) => {
    if (!isRecord(tool) || !isRecord(tool.function) || typeof tool.function.name !== "string") {
      throw new ParseInputError(
        `--tools ${path}: entry ${i} needs {"type": "function", "function": {"name": ...}}`,
      );
    }
  });
  return list as ToolDefinition[];
}

function parseChunks(text: string): string[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ParseInputError(
      `--stream reads a JSON array of chunk strings, e.g. ["<thi", "nk>…"]; the input is not JSON (${(error as Error).message})`,
    );
  }
  if (!Array.isArray(data) || !data.every((c) => typeof c === "string")) {
    throw new ParseInputError('--stream reads a JSON array of chunk strings, e.g. ["<thi", "nk>…"]');
  }
  return data;
}

/** Builds `glmv parse`; tests inject a deterministic tool-call id generator. */
export function createParseCommand(options: { idGenerator?: () => string } = {}): Command {
  return {
    name: "parse",
    summary: "Parse raw GLM-V model output into reasoning, content, tool calls and boxes",
    help: HELP,
    async run(argv: string[], io: CommandIO): Promise<number> {
      let parsed: ReturnType<typeof parseArgsFor>;
      try {
        parsed = parseArgsFor(argv);
      } catch (error) {
        if (error instanceof UsageError) throw error;
        throw new UsageError((error as Error).message);
      }
      const { values, positionals } = parsed;
      if (positionals.length > 1)
        throw new UsageError(`expected at most one input file, got ${positionals.join(" ")}`);
      let family: FamilyId;
      try {
        family = resolveFamilyId(values.family ?? DEFAULT_FAMILY);
      } catch (error) {
        if (error instanceof UnknownFamilyError) throw new UsageError(`--family: ${error.message}`);
        throw error;
      }
      const imageSize = values["image-size"] === undefined ? undefined : parseImageSize(values["image-size"]);
      const tools =
        values.tools === undefined ? undefined : parseTools(await readText(values.tools), values.tools);
      const file = positionals[0] ?? "-";
      const input = file === "-" ? await readAll(io.stdin) : await readText(file);

      const parseOptions: ParseOptions = {
        family,
        tools,
        idGenerator: options.idGenerator,
        promptOpenedThinking: values["prompt-opened-thinking"] === true,
      };
      if (values["no-thinking"]) parseOptions.thinking = false;

      if (!values.stream) {
        io.stdout.write(
          `${JSON.stringify(toPrinted(parseOutput(input, parseOptions), imageSize), null, 2)}\n`,
        );
        return 0;
      }
      const parser = new StreamParser(parseOptions);
      const write = (value: unknown) => io.stdout.write(`${JSON.stringify(value)}\n`);
      for (const chunk of parseChunks(input)) for (const delta of parser.push(chunk)) write(delta);
      const end = parser.finish();
      for (const delta of end.deltas) write(delta);
      write({ final: toPrinted(end.output, imageSize) });
      return 0;
    },
  };
}

function parseArgsFor(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      family: { type: "string" },
      "no-thinking": { type: "boolean" },
      "prompt-opened-thinking": { type: "boolean" },
      tools: { type: "string" },
      stream: { type: "boolean" },
      "image-size": { type: "string" },
    },
  });
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ParseInputError(
      code === "ENOENT"
        ? `cannot read ${path}: no such file`
        : `cannot read ${path}: ${(error as Error).message}`,
    );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `glmv parse`: parse raw GLM-V output into reasoning, content, tool calls and boxes. */
export const parseCommand: Command = createParseCommand();
