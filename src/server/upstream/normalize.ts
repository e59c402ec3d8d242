/**
 * Re-accumulates an upstream's deltas and re-emits them in glmv's streaming contract (spec §4.4, §4.5:
 * "a gateway in front of an unknown engine must re-accumulate upstream deltas, re-parse the result").
 *
 * Everything goes through the protocol's one StreamParser by rebuilding the raw generation:
 * - raw text in `content` (an engine without GLM parsers) is pushed as is;
 * - pre-split reasoning (`reasoning_content`/`reasoning`) is pushed wrapped in the family's think tags, so
 *   parsed and unparsed upstreams give identical events and the same final ParsedOutput;
 * - tool calls the upstream already parsed are collected per upstream index and re-emitted in the contract
 *   shape (our ids when the engine's are missing, call-order indexes, complete JSON arguments), because
 *   engines differ in ids, indexes and partial-JSON fragments.
 */

import type { FamilyId } from "../../protocol/families.ts";
import { effectiveThinking, type FamilySpec, getFamily } from "../../protocol/families.ts";
import { StreamParser } from "../../protocol/stream.ts";
import { randomCallId } from "../../protocol/tools.ts";
import type {
  OutputDelta,
  ParsedOutput,
  ToolCall,
  ToolCallDelta,
  ToolDefinition,
} from "../../protocol/types.ts";
import type { UpstreamChunk } from "./dialect.ts";

/** How a normaliser is set up. */
export interface NormalizerOptions {
  family: FamilyId;
  enableThinking: boolean | undefined;
  tools: readonly ToolDefinition[] | undefined;
  /** The upstream always separates reasoning itself (glmv, Z.ai): content never opens with a think tag. */
  upstreamParses: boolean;
  idGenerator?: () => string;
}

interface PendingCall {
  id: string | undefined;
  name: string;
  arguments: string;
}

/** Turns upstream chunks into contract deltas and, at the end, the complete ParsedOutput. */
export class UpstreamNormalizer implements ChunkTranslator {
  private readonly family: FamilySpec;
  private readonly parser: StreamParser;
  private readonly thinkingOn: boolean;
  private readonly upstreamParses: boolean;
  private readonly nextId: () => string;
  /** The generation rebuilt as raw text (what the model wrote, tags included). */
  raw = "";
  /** Whether the synthetic think block is open (reasoning arrived as a field). */
  private inFieldReasoning = false;
  /** Whether anything has been pushed to the parser. */
  private started = false;
  /** Phase 2 of a budget emulation: everything the upstream sends is answer text. */
  private continuing = false;
  /** Reasoning emitted directly (thinking disabled but the upstream still sent reasoning). */
  private directReasoning = "";
  private readonly upstreamCalls = new Map<number, PendingCall>();
  private readonly upstreamCallOrder: number[] = [];
  private readonly finalCalls: ToolCall[] = [];
  /** Contract index for each parser call index. */
  private readonly parserIndex = new Map<number, number>();
  private nextIndex = 0;
  /** Content or a tool call has been emitted: the answer has started. */
  answered = false;
  /** Reasoning has been emitted. */
  reasoned = false;

  constructor(options: NormalizerOptions) {
    this.family = getFamily(options.family);
    this.thinkingOn = effectiveThinking(this.family, options.enableThinking);
    this.upstreamParses = options.upstreamParses;
    this.nextId = options.idGenerator ?? randomCallId;
    this.parser = new StreamParser({
      family: options.family,
      thinking: options.enableThinking,
      tools: options.tools,
      idGenerator: this.nextId,
      // Upstreams are asked for special tokens (skip_special_tokens: false), so a thinking model's `<think>`
      // is always visible: output without it is content at once, not held until the end.
      thinkOpenVisible: true,
    });
  }

  /** Feeds one upstream chunk; returns the contract deltas it makes certain. */
  push(chunk: UpstreamChunk): OutputDelta[] {
    const out: OutputDelta[] = [];
    if (chunk.reasoning) {
      if (this.continuing) this.feed(chunk.reasoning, out);
      else this.reasoningField(chunk.reasoning, out);
    }
    if (chunk.content) {
      if (!this.continuing) this.beforeContent(out);
      this.feed(chunk.content, out);
    }
    if (chunk.toolCalls) {
      if (!this.continuing) this.beforeContent(out);
      for (const call of chunk.toolCalls) this.upstreamCall(call, out);
    }
    return out;
  }

  /**
   * Phase 2 of the two-phase budget: closes the reasoning with the family's forced close (`\n</think>\n`,
   * or `</think><answer>` for 4.1V) and treats everything that follows as answer text.
   */
  forceClose(): { appended: string; deltas: OutputDelta[] } {
    const out: OutputDelta[] = [];
    const t = this.family.specialTokens;
    if (!this.started && this.thinkingOn) this.feed(t.thinkOpen, out);
    const appended = this.family.answerTags ? `${t.thinkClose}<answer>` : `\n${t.thinkClose}\n`;
    // The reasoning already pushed may sit in a synthetic block: close it the same way.
    this.inFieldReasoning = false;
    this.feed(appended, out);
    this.continuing = true;
    return { appended, deltas: out };
  }

  /** The text of the reasoning so far (for the phase-2 assistant prefix). */
  get rawSoFar(): string {
    return this.raw;
  }

  /** Ends the stream: the last deltas and the complete parse (upstream tool calls merged in). */
  finish(): { deltas: OutputDelta[]; output: ParsedOutput } {
    const out: OutputDelta[] = [];
    // An open synthetic think block stays open: reasoning that never closed is truncated reasoning (§4.1).
    const end = this.parser.finish();
    for (const d of end.deltas) this.translate(d, out);
    this.flushCalls(out);
    const output = end.output;
    if (this.directReasoning !== "") {
      output.reasoning = (output.reasoning ?? "") + this.directReasoning;
    }
    if (this.finalCalls.length > 0) {
      output.toolCalls = [...output.toolCalls, ...this.finalCalls];
    }
    return { deltas: out, output };
  }

  private reasoningField(text: string, out: OutputDelta[]): void {
    if (!this.thinkingOn) {
      // Thinking is off for this request yet the engine sent reasoning: pass it through untouched.
      this.directReasoning += text;
      this.reasoned = true;
      out.push({ reasoning_content: text });
      return;
    }
    if (!this.inFieldReasoning) {
      if (!this.started) this.feed(this.family.specialTokens.thinkOpen, out);
      this.inFieldReasoning = true;
    }
    this.feed(text, out);
  }

  /** Content (or a parsed call) arrives: close a synthetic think block, or tell the parser none came. */
  private beforeContent(out: OutputDelta[]): void {
    const t = this.family.specialTokens;
    if (this.inFieldReasoning) {
      this.inFieldReasoning = false;
      this.feed(t.thinkClose, out);
    } else if (!this.started && this.thinkingOn && this.upstreamParses) {
      // A parsing upstream sent content first: the model did not think.
      this.feed(t.thinkOpen + t.thinkClose, out);
    }
  }

  private feed(text: string, out: OutputDelta[]): void {
    this.started = true;
    this.raw += text;
    for (const d of this.parser.push(text)) this.translate(d, out);
  }

  private translate(delta: OutputDelta, out: OutputDelta[]): void {
    if (delta.reasoning_content !== undefined) {
      this.reasoned = true;
      out.push(delta);
      return;
    }
    if (delta.content !== undefined) {
      this.answered = true;
      out.push(delta);
      return;
    }
    if (delta.tool_calls) {
      this.answered = true;
      out.push({
        tool_calls: delta.tool_calls.map((c) => {
          let index = this.parserIndex.get(c.index);
          if (index === undefined) {
            index = this.nextIndex++;
            this.parserIndex.set(c.index, index);
          }
          return { ...c, index };
        }),
      });
    }
  }

  private upstreamCall(
    call: { index: number; id?: string; name?: string; arguments?: string },
    out: OutputDelta[],
  ) {
    this.answered = true;
    let pending = this.upstreamCalls.get(call.index);
    if (!pending) {
      // A new upstream index: the previous calls are complete (engines send calls in order).
      this.flushCalls(out);
      pending = { id: undefined, name: "", arguments: "" };
      this.upstreamCalls.set(call.index, pending);
      this.upstreamCallOrder.push(call.index);
    }
    if (call.id && !pending.id) pending.id = call.id;
    if (call.name) pending.name += call.name;
    if (call.arguments) pending.arguments += call.arguments;
  }

  /** Emits every collected upstream call as two contract deltas (header, then the whole arguments). */
  private flushCalls(out: OutputDelta[]): void {
    for (const key of this.upstreamCallOrder) {
      const call = this.upstreamCalls.get(key);
      if (!call) continue;
      this.upstreamCalls.delete(key);
      const index = this.nextIndex++;
      const id = call.id && /^call_|^chatcmpl-tool-/.test(call.id) ? call.id : this.nextId();
      const args = normaliseArguments(call.arguments);
      const header: ToolCallDelta = {
        index,
        id,
        type: "function",
        function: { name: call.name, arguments: "" },
      };
      out.push({ tool_calls: [header] });
      out.push({ tool_calls: [{ index, function: { arguments: args } }] });
      this.finalCalls.push({ id, type: "function", function: { name: call.name, arguments: args } });
    }
    this.upstreamCallOrder.length = 0;
  }
}

/** Engines send partial or odd JSON (spec §4.5): keep valid JSON as sent, "" becomes "{}". */
function normaliseArguments(text: string): string {
  const trimmed = text.trim();
  if (trimmed === "") return "{}";
  return text;
}

/** What the backend needs from a translator of upstream chunks. */
export interface ChunkTranslator {
  push(chunk: UpstreamChunk): OutputDelta[];
  forceClose(): { appended: string; deltas: OutputDelta[] };
  finish(): { deltas: OutputDelta[]; output: ParsedOutput };
  readonly answered: boolean;
  readonly raw: string;
}

/**
 * For glmv upstreams, whose stream already follows the contract: deltas pass through untouched (no
 * re-parse, so nothing is trimmed or re-timed), and the final parse is rebuilt from them plus the
 * upstream's `glmv` extension (boxes).
 */
export class ContractPassThrough implements ChunkTranslator {
  private reasoning = "";
  private content = "";
  private readonly calls = new Map<number, ToolCall>();
  private boxes: ParsedOutput["boxes"] = [];
  answered = false;

  get raw(): string {
    return (this.reasoning ? `<think>${this.reasoning}</think>` : "") + this.content;
  }

  push(chunk: UpstreamChunk): OutputDelta[] {
    const out: OutputDelta[] = [];
    if (chunk.glmv?.boxes) this.boxes = chunk.glmv.boxes;
    if (chunk.reasoning) {
      this.reasoning += chunk.reasoning;
      out.push({ reasoning_content: chunk.reasoning });
    }
    if (chunk.content) {
      this.answered = true;
      this.content += chunk.content;
      out.push({ content: chunk.content });
    }
    for (const c of chunk.toolCalls ?? []) {
      this.answered = true;
      let call = this.calls.get(c.index);
      if (!call) {
        call = {
          id: c.id ?? randomCallId(),
          type: "function",
          function: { name: c.name ?? "", arguments: "" },
        };
        this.calls.set(c.index, call);
        out.push({
          tool_calls: [
            {
              index: c.index,
              id: call.id,
              type: "function",
              function: { name: call.function.name, arguments: "" },
            },
          ],
        });
      }
      if (c.arguments) {
        call.function.arguments += c.arguments;
        out.push({ tool_calls: [{ index: c.index, function: { arguments: c.arguments } }] });
      }
    }
    return out;
  }

  forceClose(): { appended: string; deltas: OutputDelta[] } {
    return { appended: "", deltas: [] };
  }

  finish(): { deltas: OutputDelta[]; output: ParsedOutput } {
    const calls = [...this.calls.entries()].sort((x, y) => x[0] - y[0]).map(([, c]) => c);
    for (const c of calls) if (c.function.arguments.trim() === "") c.function.arguments = "{}";
    return {
      deltas: [],
      output: {
        reasoning: this.reasoning === "" ? null : this.reasoning,
        content: this.content.trim() === "" ? null : this.content,
        answer: null,
        toolCalls: calls,
        boxes: this.boxes,
        reasoningTruncated: this.reasoning !== "" && !this.answered,
      },
    };
  }
}
