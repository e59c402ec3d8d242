import { type PixelBox, toPixels } from "../protocol/index.ts";
import type { Box } from "../protocol/types.ts";
import type { ChatEvent, ChatResult, ImageSize } from "../runtime/types.ts";

/** How a chat stream is shown in a terminal. */
export interface TerminalRenderOptions {
  /** Show the reasoning (dimmed when colors are on). */
  showThinking: boolean;
  /** Use ANSI colors (dim reasoning, bold headings). */
  color: boolean;
}

const DIM = "\x1b[2m";
const BOLD = "\x1b[1m";
const RESET = "\x1b[0m";

/**
 * Writes a chat stream to a terminal as it arrives: reasoning dimmed (or hidden), then the answer,
 * then tool calls and boxes (with pixel coordinates when the image size is known). Returns the result.
 */
export async function renderToTerminal(
  events: AsyncIterable<ChatEvent>,
  out: NodeJS.WritableStream,
  options: TerminalRenderOptions,
): Promise<ChatResult | undefined> {
  let inReasoning = false;
  let wroteAnything = false;
  let lastChar = "\n";
  const write = (text: string) => {
    if (text.length === 0) return;
    out.write(text);
    wroteAnything = true;
    lastChar = text.at(-1)!;
  };
  let result: ChatResult | undefined;
  for await (const event of events) {
    if (event.type === "done") {
      result = event.result;
      break;
    }
    const { delta } = event;
    if (delta.reasoning_content !== undefined && options.showThinking) {
      if (!inReasoning) {
        write(options.color ? DIM : "");
        if (!options.color) write("[thinking] ");
        inReasoning = true;
      }
      write(delta.reasoning_content);
    }
    if (delta.content !== undefined) {
      if (inReasoning) {
        write(options.color ? RESET : "");
        if (lastChar !== "\n") write("\n");
        if (!options.color) write("[answer] ");
        inReasoning = false;
      }
      write(delta.content);
    }
  }
  if (inReasoning) write(options.color ? RESET : "");
  if (wroteAnything && lastChar !== "\n") write("\n");
  if (result) write(describeResultExtras(result, options.color));
  return result;
}

/** The lines shown after an answer: tool calls, boxes (with pixels for a single image), truncation notes. */
export function describeResultExtras(result: ChatResult, color = false): string {
  const lines: string[] = [];
  const heading = (text: string) => (color ? `${BOLD}${text}${RESET}` : text);
  for (const call of result.output.toolCalls) {
    lines.push(`${heading("tool call")} ${call.function.name}(${call.function.arguments})`);
  }
  const size: ImageSize | undefined = result.imageSizes.length === 1 ? result.imageSizes[0] : undefined;
  result.output.boxes.forEach((box, i) => {
    const px = size ? ` = ${formatBox(toPixels(box, size))} px` : "";
    lines.push(`${heading(`box ${i + 1}`)} ${formatBox(box)} (thousandths)${px}`);
  });
  if (result.thinkingTruncated)
    lines.push("note: the thinking budget ran out; the reasoning was closed early.");
  if (result.finishReason === "length") lines.push("note: stopped at the token limit (raise --max-tokens).");
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

function formatBox(box: Box | PixelBox): string {
  return "x1" in box ? `[${box.x1},${box.y1},${box.x2},${box.y2}]` : `[${box.x},${box.y}]`;
}
