import { parseArgs } from "node:util";
import { toPixels } from "../../protocol/index.ts";
import type { MessagePart } from "../../protocol/types.ts";
import type { ChatEvent, ChatRequest, ChatResult } from "../../runtime/types.ts";
import { type Command, readAll, UsageError } from "../command.ts";
import { intOption, modelOptions, modelOptionsHelp, numberOption, openModel } from "../open-model.ts";
import { renderToTerminal } from "../render.ts";

const help = `Usage: glmv run [options] "prompt"

Ask a GLM-V model about images, a video or a document, on this machine. The answer streams as it is generated;
the reasoning is shown dimmed, and grounding boxes are listed with pixel coordinates at the end.

Input options:
  -i, --image PATH|URL    An image (repeatable; JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF).
      --video PATH|URL    A video (needs ffmpeg). Not together with images.
  -f, --file PATH|URL     A PDF or office document (PPT/PPTX/DOC/DOCX/ODP; office files need LibreOffice).
  -s, --system TEXT       A system message.
      "prompt" or -       The question; "-" reads it from standard input.

Generation options:
      --no-thinking       Answer without reasoning (families with a thinking switch).
      --hide-thinking     Think, but do not print the reasoning.
      --thinking-budget N Close the reasoning after N tokens and go on to the answer.
      --max-tokens N      Most tokens to generate (reasoning included).
      --temperature T, --top-p P, --top-k K, --seed S
                          Sampling (defaults: the model family's recommended values).
      --json              Print one JSON object instead of streaming text.

${modelOptionsHelp}
Examples:
  glmv run --image cat.jpg "What breed is this?"
  glmv run -m ./models/tiny --json --image photo.png "Point at the dog"
  glmv run --file slides.pdf --no-thinking "Summarise these slides"
`;

/** `glmv run`: one question about media, answered by a local model. */
export const runCommand: Command = {
  name: "run",
  summary: "Ask a model about images, video or documents (local embedded engine)",
  help,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...modelOptions,
        image: { type: "string", short: "i", multiple: true },
        video: { type: "string" },
        file: { type: "string", short: "f", multiple: true },
        system: { type: "string", short: "s" },
        "no-thinking": { type: "boolean" },
        "hide-thinking": { type: "boolean" },
        "thinking-budget": { type: "string" },
        "max-tokens": { type: "string" },
        temperature: { type: "string" },
        "top-p": { type: "string" },
        "top-k": { type: "string" },
        seed: { type: "string" },
        json: { type: "boolean" },
      },
    });
    if (positionals.length > 1) {
      throw new UsageError(`expected one prompt, got ${positionals.length} words; put the prompt in quotes`);
    }
    let prompt = positionals[0];
    if (prompt === undefined)
      throw new UsageError('missing the prompt, e.g. glmv run --image a.png "Describe it"');
    if (prompt === "-") prompt = (await readAll(io.stdin)).trim();
    const images = values.image ?? [];
    if (images.length > 0 && values.video) {
      throw new UsageError(
        "images and a video cannot be combined in one request (GLM-V takes one or the other)",
      );
    }
    const parts: MessagePart[] = [
      ...images.map((url): MessagePart => ({ type: "image_url", image_url: { url } })),
      ...(values.video ? [{ type: "video_url", video_url: { url: values.video } } as MessagePart] : []),
      ...(values.file ?? []).map((url): MessagePart => ({ type: "file", file: { url } })),
      { type: "text", text: prompt },
    ];
    const request: ChatRequest = {
      messages: [
        ...(values.system ? [{ role: "system" as const, content: values.system }] : []),
        { role: "user", content: parts },
      ],
      enableThinking: values["no-thinking"] ? false : undefined,
      thinkingBudget: intOption(values["thinking-budget"], "--thinking-budget", 0),
      options: {
        maxTokens: intOption(values["max-tokens"], "--max-tokens", 1),
        temperature: numberOption(values.temperature, "--temperature"),
        topP: numberOption(values["top-p"], "--top-p"),
        topK: intOption(values["top-k"], "--top-k", 0),
        seed: intOption(values.seed, "--seed", 0),
      },
    };
    const backend = await openModel(values, io.stderr);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once("SIGINT", onSigint);
    try {
      const events = backend.chat(request, controller.signal);
      if (values.json) {
        const result = await lastResult(events);
        const json = { ...runJson(result), devices: backend.devices ?? null };
        io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
        return result.finishReason === "abort" ? 130 : 0;
      }
      const color = Boolean((io.stdout as { isTTY?: boolean }).isTTY) && !process.env.NO_COLOR;
      const result = await renderToTerminal(events, io.stdout, {
        showThinking: !values["hide-thinking"],
        color,
      });
      if (result?.finishReason === "abort") {
        io.stderr.write("(stopped by Ctrl-C)\n");
        return 130; // the shell's code for an interrupted command
      }
      return 0;
    } finally {
      process.off("SIGINT", onSigint);
      await backend.close();
    }
  },
};

async function lastResult(events: AsyncIterable<ChatEvent>): Promise<ChatResult> {
  for await (const event of events) if (event.type === "done") return event.result;
  throw new Error("the engine ended without a result");
}

/** The `--json` object of `glmv run`. */
export function runJson(result: ChatResult): Record<string, unknown> {
  const size = result.imageSizes.length === 1 ? result.imageSizes[0] : undefined;
  return {
    reasoning: result.output.reasoning,
    content: result.output.content,
    boxes: result.output.boxes.map((box) => (size ? { ...box, pixels: toPixels(box, size) } : box)),
    tool_calls: result.output.toolCalls,
    usage: { prompt_tokens: result.usage.promptTokens, completion_tokens: result.usage.completionTokens },
    timings: result.timings ?? null,
    finish_reason: result.finishReason,
    thinking_truncated: result.thinkingTruncated,
  };
}
