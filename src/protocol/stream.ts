/**
 * The one scanner for GLM-V generations (spec §4.1–§4.4). `StreamParser` reads text in chunks of any size
 * and emits OpenAI-style deltas; batch parsing (`parseOutput` in parse.ts) is this same parser fed one
 * chunk, so batch and streaming cannot disagree.
 *
 * States, decided from generated text only (never from the prompt):
 * - `start`: leading whitespace; a `<think>` here opens reasoning.
 * - `think`: reasoning streams out until `</think>`. A `<tool_call>` moves to `thinkHeld`.
 * - `thinkHeld`: a `<tool_call>` inside unterminated reasoning. Held until `</think>` (then it was all
 *   reasoning, rule 1) or the end (then a complete call ends the reasoning implicitly, rule 4; without one the
 *   reasoning was truncated, rule 2).
 * - `undecided`: thinking may be on but the output did not open with `<think>`. Held until `</think>` (the
 *   text was reasoning, rule 1) or the end (it was all content, rule 3).
 * - `answer`: content streams out; 4.1V `<answer>` tags are stripped (rule 5); `<tool_call>` opens `call`.
 * - `call`: a tool-call block, held until `</tool_call>`; a block never closed is not a call (§4.3).
 *
 * Text is only emitted once no suffix of it could begin a tag, so no delta ever holds part of a tag.
 * Each channel (reasoning, content) drops its leading whitespace and its trailing whitespace at the end;
 * content keeps its trailing whitespace when a tool call follows (spec §4.3: `"Let me check.\n"`).
 * A channel that is empty or only whitespace is null.
 */
import { findBoxes } from "./boxes.ts";
import { effectiveThinking, type FamilySpec, getFamily } from "./families.ts";
import { argumentFragments, parseToolCallBody, randomCallId, TOOL_TAGS, toToolCall } from "./tools.ts";
import type { OutputDelta, ParsedOutput, ParseOptions, ToolCall, ToolDefinition } from "./types.ts";

const THINK_OPEN = "<think>";
const THINK_CLOSE = "</think>";
const ANSWER_OPEN = "<answer>";
const ANSWER_CLOSE = "</answer>";

type Mode = "start" | "think" | "thinkHeld" | "undecided" | "answer" | "call";

/** What `StreamParser.finish()` returns: the last deltas and the complete parse. */
export interface StreamFinish {
  deltas: OutputDelta[];
  output: ParsedOutput;
}

/** Thrown when a StreamParser is used after `finish()`. */
export class StreamClosedError extends Error {
  override name = "StreamClosedError";
}

/**
 * One output channel with whitespace trimming that works incrementally: leading whitespace is dropped,
 * a trailing whitespace run is held until more text follows it.
 */
class TextChannel {
  text = "";
  private trailing = "";
  private closed = false;

  /** Adds text; returns the part that can be emitted now. */
  push(chunk: string): string {
    if (this.closed || chunk === "") return "";
    let combined = this.trailing + chunk;
    if (this.text === "") combined = combined.trimStart();
    const end = combined.trimEnd().length;
    const emit = combined.slice(0, end);
    this.trailing = combined.slice(end);
    this.text += emit;
    return emit;
  }

  /** Ends the channel; returns the held trailing whitespace when it should be kept. */
  close(keepTrailing: boolean): string {
    if (this.closed) return "";
    this.closed = true;
    const flushed = keepTrailing && this.text !== "" ? this.trailing : "";
    this.trailing = "";
    this.text += flushed;
    return flushed;
  }

  value(): string | null {
    return this.text === "" ? null : this.text;
  }
}

/** The earliest occurrence of any tag in `text`. */
function firstTag(text: string, tags: readonly string[]): { index: number; tag: string } | null {
  let best: { index: number; tag: string } | null = null;
  for (const tag of tags) {
    const index = text.indexOf(tag);
    if (index !== -1 && (best === null || index < best.index)) best = { index, tag };
  }
  return best;
}

/** Length of the longest suffix of `text` that is a proper prefix of some tag (it must be held back). */
function tagPrefixSuffix(text: string, tags: readonly string[]): number {
  const longest = Math.max(0, ...tags.map((t) => t.length - 1));
  for (let k = Math.min(longest, text.length); k > 0; k--) {
    const suffix = text.slice(text.length - k);
    if (tags.some((t) => t.startsWith(suffix))) return k;
  }
  return 0;
}

/**
 * Incremental parser of one generation. `push(chunk)` returns the deltas that are certain so far;
 * `finish()` returns the remaining deltas and the final ParsedOutput, which equals
 * `parseOutput(wholeText)`. Concatenated reasoning/content deltas equal the final reasoning/content, and
 * the tool-call deltas rebuild the final tool calls (ids, names, arguments).
 *
 * Tool calls are emitted when their `</tool_call>` arrives (a block that never closes is not a call), as a
 * first delta `{index, id, type, function: {name, arguments: ""}}` and then argument fragments.
 */
export class StreamParser {
  private readonly family: FamilySpec;
  private readonly tools: readonly ToolDefinition[] | undefined;
  private readonly nextId: () => string;
  private readonly fallback: "think" | "undecided" | "answer";
  private mode: Mode;
  /** Unscanned text: at most a possible tag prefix after each scan. */
  private pending = "";
  /** Text held in thinkHeld / undecided / call until they resolve. */
  private held = "";
  private readonly reasoning = new TextChannel();
  private readonly content = new TextChannel();
  private reasoningTruncated = false;
  private answerState: "none" | "open" | "closed" = "none";
  private answerText = "";
  private readonly toolCalls: ToolCall[] = [];
  private out: OutputDelta[] = [];
  private finished = false;

  constructor(options: ParseOptions) {
    this.family = getFamily(options.family);
    this.tools = options.tools;
    this.nextId = options.idGenerator ?? randomCallId;
    const thinking = effectiveThinking(this.family, options.thinking);
    if (options.promptOpenedThinking) this.fallback = "think";
    else this.fallback = thinking && !options.thinkOpenVisible ? "undecided" : "answer";
    this.mode = options.promptOpenedThinking || thinking ? "start" : "answer";
  }

  /** Feeds the next chunk of generated text; returns the deltas it makes certain (possibly none). */
  push(chunk: string): OutputDelta[] {
    if (this.finished) throw new StreamClosedError("StreamParser.push() after finish(); create a new parser");
    this.pending += chunk;
    this.scan();
    return this.takeDeltas();
  }

  /** Ends the stream: resolves everything held back and returns the last deltas and the full parse. */
  finish(): StreamFinish {
    if (this.finished) throw new StreamClosedError("StreamParser.finish() called twice; create a new parser");
    this.finished = true;
    this.flushAtEnd();
    this.emitContent(this.content.close(false));
    this.reasoning.close(false);
    const content = this.content.value();
    const output: ParsedOutput = {
      reasoning: this.reasoning.value(),
      content,
      answer: this.family.answerTags && this.answerState !== "none" ? this.answerText.trim() : null,
      toolCalls: [...this.toolCalls],
      boxes: content === null ? [] : findBoxes(content),
      reasoningTruncated: this.reasoningTruncated,
    };
    if (this.family.answerTags) output.answerTruncated = this.answerState === "open";
    return { deltas: this.takeDeltas(), output };
  }

  private get parsesTools(): boolean {
    return this.family.toolCalls;
  }

  private tagsFor(mode: Mode): string[] {
    switch (mode) {
      case "think":
        return this.parsesTools ? [THINK_CLOSE, TOOL_TAGS.callOpen] : [THINK_CLOSE];
      case "thinkHeld":
      case "undecided":
        return [THINK_CLOSE];
      case "answer": {
        const tags: string[] = [];
        if (this.parsesTools) tags.push(TOOL_TAGS.callOpen);
        if (this.family.answerTags) tags.push(ANSWER_OPEN, ANSWER_CLOSE);
        return tags;
      }
      case "call":
        return [TOOL_TAGS.callClose];
      default:
        return [];
    }
  }

  private scan(): void {
    for (;;) {
      if (this.mode === "start") {
        if (!this.resolveStart(false)) return;
        continue;
      }
      const tags = this.tagsFor(this.mode);
      const hit = firstTag(this.pending, tags);
      if (hit) {
        this.text(this.pending.slice(0, hit.index));
        this.pending = this.pending.slice(hit.index + hit.tag.length);
        this.onTag(hit.tag);
        continue;
      }
      const keep = tagPrefixSuffix(this.pending, tags);
      this.text(this.pending.slice(0, this.pending.length - keep));
      this.pending = this.pending.slice(this.pending.length - keep);
      return;
    }
  }

  /** Leaves `start` once the first non-whitespace text shows whether it is `<think>`. */
  private resolveStart(atEnd: boolean): boolean {
    const rest = this.pending.trimStart();
    if (rest.startsWith(THINK_OPEN)) {
      this.pending = rest.slice(THINK_OPEN.length);
      this.mode = "think";
      return true;
    }
    if (!atEnd && THINK_OPEN.startsWith(rest)) return false;
    this.mode = this.fallback;
    return true;
  }

  private text(text: string): void {
    if (text === "") return;
    switch (this.mode) {
      case "think":
        this.emitReasoning(text);
        break;
      case "answer":
        this.contentText(text);
        break;
      default:
        this.held += text;
    }
  }

  private onTag(tag: string): void {
    switch (this.mode) {
      case "think":
        if (tag === THINK_CLOSE) this.endReasoning();
        else {
          this.mode = "thinkHeld";
          this.held = "";
        }
        return;
      case "thinkHeld":
        this.emitReasoning(TOOL_TAGS.callOpen + this.held);
        this.held = "";
        this.endReasoning();
        return;
      case "undecided":
        this.emitReasoning(this.held);
        this.held = "";
        this.endReasoning();
        return;
      case "answer":
        if (tag === TOOL_TAGS.callOpen) {
          this.mode = "call";
          this.held = "";
        } else if (tag === ANSWER_OPEN && this.answerState === "none") this.answerState = "open";
        else if (tag === ANSWER_CLOSE && this.answerState === "open") this.answerState = "closed";
        return;
      case "call": {
        const body = this.held;
        this.held = "";
        this.mode = "answer";
        this.completeCall(body);
        return;
      }
    }
  }

  private endReasoning(): void {
    this.reasoning.close(false);
    this.mode = "answer";
  }

  /** Content text: dropped once a tool call exists (§4.3: prose between and after calls is dropped). */
  private contentText(text: string): void {
    if (this.toolCalls.length > 0) return;
    if (this.answerState === "open") this.answerText += text;
    this.emitContent(this.content.push(text));
  }

  private completeCall(body: string): void {
    const block = parseToolCallBody(body, this.tools);
    if (!block) {
      // No function name: not a call, so the text stays where it was.
      this.contentText(TOOL_TAGS.callOpen + body + TOOL_TAGS.callClose);
      return;
    }
    if (this.toolCalls.length === 0) this.emitContent(this.content.close(true));
    const index = this.toolCalls.length;
    const call = toToolCall(block, this.nextId());
    this.toolCalls.push(call);
    this.out.push({
      tool_calls: [
        { index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } },
      ],
    });
    for (const fragment of argumentFragments(block.arguments)) {
      this.out.push({ tool_calls: [{ index, function: { arguments: fragment } }] });
    }
  }

  /** Resolves every held state at the end of the output. */
  private flushAtEnd(): void {
    for (;;) {
      switch (this.mode) {
        case "start":
          this.resolveStart(true);
          this.scan();
          continue;
        case "undecided":
          // No </think> ever came: everything was content (rule 3).
          this.pending = this.held + this.pending;
          this.held = "";
          this.mode = "answer";
          this.scan();
          continue;
        case "thinkHeld": {
          const rest = TOOL_TAGS.callOpen + this.held + this.pending;
          this.held = "";
          this.pending = "";
          if (this.holdsCompleteCall(rest)) {
            // Rule 4: a tool call inside unterminated reasoning ends the reasoning.
            this.endReasoning();
            this.pending = rest;
            this.scan();
            continue;
          }
          this.emitReasoning(rest);
          this.reasoningTruncated = true;
          return;
        }
        case "think":
          this.emitReasoning(this.pending);
          this.pending = "";
          this.reasoningTruncated = true;
          return;
        case "answer":
          this.contentText(this.pending);
          this.pending = "";
          return;
        case "call": {
          // Never closed: not a call; its text is content unless calls came before (then it is dropped).
          const raw = TOOL_TAGS.callOpen + this.held + this.pending;
          this.held = "";
          this.pending = "";
          this.mode = "answer";
          this.contentText(raw);
          return;
        }
      }
    }
  }

  /** Whether `text`, read as answer text, holds at least one complete tool call. */
  private holdsCompleteCall(text: string): boolean {
    const probe = new StreamParser({
      family: this.family.id,
      thinking: false,
      tools: this.tools,
      idGenerator: () => "",
    });
    probe.push(text);
    return probe.finish().output.toolCalls.length > 0;
  }

  private emitReasoning(text: string): void {
    const emit = this.reasoning.push(text);
    if (emit !== "") this.out.push({ reasoning_content: emit });
  }

  private emitContent(text: string): void {
    if (text !== "") this.out.push({ content: text });
  }

  /** Returns the queued deltas, merging neighbouring text deltas of the same channel. */
  private takeDeltas(): OutputDelta[] {
    const merged: OutputDelta[] = [];
    for (const delta of this.out) {
      const last = merged[merged.length - 1];
      if (last && delta.content !== undefined && last.content !== undefined) last.content += delta.content;
      else if (last && delta.reasoning_content !== undefined && last.reasoning_content !== undefined) {
        last.reasoning_content += delta.reasoning_content;
      } else merged.push({ ...delta });
    }
    this.out = [];
    return merged;
  }
}
