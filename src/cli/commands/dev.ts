import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeTinyMmproj } from "../../engines/embedded/vision/tinyMmproj.ts";
import { type TinyQuant, writeTinyModel } from "../../engines/tiny/model.ts";
import { ScriptError } from "../../engines/tiny/script.ts";
import { isFamilyId } from "../../protocol/families.ts";
import { type Command, UsageError } from "../command.ts";

const HELP = `Usage: glmv dev tiny-model --out DIR [options]

Writes a tiny GLM-V model for tests and benchmarks: DIR/model.gguf (arch glm4 with M-RoPE, a small real
byte-level BPE vocabulary with every GLM special token, seeded random weights and a chat template written for
glmv) and DIR/mmproj.gguf (a matching glm4v projector).

Options:
  --out DIR        folder to write into (created if missing)
  --script TEXT    make a scripted model: for any prompt, greedy decoding emits exactly TEXT, then
                   <|endoftext|>. Special tokens in TEXT (<think>, </think>, <|begin_of_box|>, <tool_call>, …)
                   stay single special tokens. Each piece of text must be unique (a bigram machine).
  --family F       glm-4.6v-flash (default), glm-4.6v, glm-4.5v, glm-4.1v-thinking or glm-ocr: picks the chat
                   template (4.1V style for glm-4.1v-thinking) and the family the engine detects
  --size S         tiny (default; 64 wide, 2 layers) or bench (~344M parameters: hidden 1024, 16 layers)
  --quant Q        f32 (tiny default), f16, q8_0 or q4_0 (bench default)
  --seed N         weight seed (default 1234)
  --no-mmproj      do not write mmproj.gguf

Examples:
  glmv dev tiny-model --out /tmp/tiny --script "<think>Looking.</think>A cat."
  glmv dev tiny-model --out /tmp/bench --size bench --quant q8_0
`;

async function tinyModel(argv: string[], io: Parameters<Command["run"]>[1]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: "string" },
      script: { type: "string" },
      family: { type: "string" },
      size: { type: "string" },
      quant: { type: "string" },
      seed: { type: "string" },
      "no-mmproj": { type: "boolean" },
    },
    strict: true,
  });
  if (!values.out) throw new UsageError("--out DIR is required");
  const family = values.family ?? "glm-4.6v-flash";
  if (!isFamilyId(family)) throw new UsageError(`unknown family "${family}"`);
  const size = values.size ?? "tiny";
  if (size !== "tiny" && size !== "bench")
    throw new UsageError(`--size must be tiny or bench, got "${size}"`);
  const quant = values.quant ?? (size === "bench" ? "q4_0" : "f32");
  if (!["f32", "f16", "q8_0", "q4_0"].includes(quant)) {
    throw new UsageError(`--quant must be f32, f16, q8_0 or q4_0, got "${quant}"`);
  }
  const seed = values.seed === undefined ? 1234 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got "${values.seed}"`);
  let made: ReturnType<typeof writeTinyModel>;
  try {
    made = writeTinyModel(values.out, {
      family,
      size,
      quant: quant as TinyQuant,
      script: values.script,
      seed,
    });
  } catch (e) {
    if (e instanceof ScriptError) throw new UsageError(e.message);
    throw e;
  }
  const d = made.description;
  io.stdout.write(
    `wrote ${made.modelPath} (${family}, ${(d.parameters / 1e6).toFixed(2)}M parameters, ${quant}, ` +
      `vocab ${d.shape.vocab}${values.script !== undefined ? `, scripted: ${d.scriptTokens.length} tokens` : ""})\n`,
  );
  if (!values["no-mmproj"]) {
    const path = join(values.out, "mmproj.gguf");
    const bench = size === "bench";
    writeTinyMmproj(path, {
      textEmbeddingLength: d.shape.embd,
      seed,
      ...(bench ? { hiddenSize: 1536, blockCount: 4, headCount: 12, matrixType: "F16" as const } : {}),
    });
    io.stdout.write(`wrote ${path}\n`);
  }
  return 0;
}

/** `glmv dev`: developer tools (tiny test models). */
export const devCommand: Command = {
  name: "dev",
  summary: "Developer tools: write tiny GLM-V test and benchmark models",
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === "tiny-model") return tinyModel(rest, io);
    throw new UsageError(
      sub ? `unknown dev command "${sub}" (try tiny-model)` : "missing dev command (tiny-model)",
    );
  },
};
