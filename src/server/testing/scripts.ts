/**
 * Scripted answers for the fake upstream, picked by the last user message ("raw-think", "parsed-tool"…).
 * Raw scripts are what an engine without GLM parsers streams; parsed scripts what vLLM/SGLang stream with
 * `--reasoning-parser glm45 --tool-call-parser glm45` (and, for tools, SGLang's id-less deltas).
 */
import { type FakeDelta, type FakeScript, rawDeltas } from "./fake-upstream.ts";

/** Raw GLM-4.5V output with reasoning and a grounding box. */
export const RAW_THINK =
  "<think>The user asks for the cat. It sits in the middle.</think>\nThe cat is here: <|begin_of_box|>[250,100,750,900]<|end_of_box|>";

/** Raw GLM-4.5V output with reasoning and one tool call. */
export const RAW_TOOL =
  "<think>I need the weather.</think>Let me check.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>";

/** A tool schema matching RAW_TOOL. */
export const WEATHER_TOOL = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Weather forecast for a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, days: { type: "integer" } },
      required: ["city"],
    },
  },
};

const parsedThink: FakeDelta[] = [
  { reasoning_content: "The user asks for the cat.", reasoning: "The user asks for the cat." },
  { reasoning_content: " It sits in the middle.", reasoning: " It sits in the middle." },
  { content: "\nThe cat is here: " },
  { content: "<|begin_of_box|>[250,100,750,900]<|end_of_box|>" },
];

const parsedTool: FakeDelta[] = [
  { reasoning_content: "I need the weather." },
  { content: "Let me check.\n" },
  {
    tool_calls: [{ index: 0, id: null, type: "function", function: { name: "get_weather", arguments: "" } }],
  },
  { tool_calls: [{ index: 0, id: null, type: "function", function: { arguments: '{"city": "Par' } }] },
  { tool_calls: [{ index: 0, id: null, type: "function", function: { arguments: 'is", "days": 3}' } }] },
];

/** Picks a script from the request's last user message. */
export function scriptFor(body: Record<string, unknown>): FakeScript {
  const messages = body.messages as { role: string; content: unknown }[];
  const last = [...messages].reverse().find((m) => m.role === "user");
  const text =
    typeof last?.content === "string"
      ? last.content
      : Array.isArray(last?.content)
        ? (last.content as { type: string; text?: string }[]).map((p) => p.text ?? "").join(" ")
        : "";
  const key = text.split(/\s+/)[0];
  const usage = { prompt_tokens: 12, completion_tokens: 20 };
  const bench = /^bench-(\d+)-(\d+)(-parsed)?$/.exec(key);
  if (bench) return benchScript(Number(bench[1]), Number(bench[2]), bench[3] !== undefined);
  switch (key) {
    case "raw-think":
      return { deltas: rawDeltas(RAW_THINK, 7), usage };
    case "parsed-think":
      return { deltas: parsedThink, usage };
    case "raw-tool":
      return { deltas: rawDeltas(RAW_TOOL, 9), usage, finishReason: "stop" };
    case "parsed-tool":
      return { deltas: parsedTool, usage, finishReason: "tool_calls" };
    case "slow":
      return { deltas: rawDeltas("<think>ok</think>one two three four five six", 3), delayMs: 10, usage };
    case "endless":
      return { deltas: [{ content: "<think>ok</think>" }, { content: "tick " }], endless: true, delayMs: 5 };
    case "die":
      return { deltas: rawDeltas(RAW_THINK, 7), dieAfter: 3, delayMs: 2 };
    case "fail500":
      return { deltas: [], status: 500 };
    case "reject400":
      return { deltas: [], status: 400 };
    case "budget": {
      // Phase 1 is capped by max_completion_tokens; phase 2 continues the assistant turn.
      if (body.continue_final_message === true) {
        return {
          deltas: rawDeltas("The answer is 42.", 5),
          usage: { prompt_tokens: 40, completion_tokens: 6 },
        };
      }
      return {
        deltas: rawDeltas("<think>Let me think about this for a very long time", 6),
        finishReason: "length",
        usage: { prompt_tokens: 12, completion_tokens: Number(body.max_completion_tokens ?? 16) },
      };
    }
    default:
      return { deltas: rawDeltas(`<think>echo</think>${text}`, 5), usage };
  }
}

/**
 * A benchmark answer of `chunks` one-token deltas sent `delayMs` apart: a quarter reasoning, the rest
 * content; raw GLM text, or pre-split fields with `parsed`.
 */
export function benchScript(chunks: number, delayMs: number, parsed: boolean): FakeScript {
  const n = Math.max(4, chunks);
  const reasoningTokens = Math.floor(n / 4);
  const deltas: FakeDelta[] = [];
  for (let i = 0; i < n; i++) {
    const word = i === n - 1 ? "end." : `w${i} `;
    if (i < reasoningTokens) {
      if (parsed) deltas.push({ reasoning_content: word });
      else
        deltas.push({
          content: i === 0 ? `<think>${word}` : i === reasoningTokens - 1 ? `${word}</think>` : word,
        });
    } else {
      deltas.push({ content: word });
    }
  }
  return { deltas, delayMs, usage: { prompt_tokens: 16, completion_tokens: n } };
}
