import { writeFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import type { ChatMessage, MessagePart } from "../../protocol/types.ts";
import type { ChatBackend } from "../../runtime/types.ts";
import type { Command, CommandIO } from "../command.ts";
import { UsageError } from "../command.ts";
import { intOption, modelOptions, modelOptionsHelp, openModel } from "../open-model.ts";
import { renderToTerminal } from "../render.ts";

const replHelp = `Commands:
  /image PATH|URL   attach an image to your next message (repeatable)
  /video PATH|URL   attach a video to your next message
  /file PATH|URL    attach a PDF or office document to your next message
  /think on|off     turn the model's reasoning on or off
  /budget N|off     cap the reasoning at N tokens
  /clear            forget the conversation (and pending attachments)
  /save FILE        write the conversation as JSON (OpenAI message format)
  /help             this list
  /exit             leave (or Ctrl-D). Ctrl-C stops the current answer.
`;

const help = `Usage: glmv chat [options]

A multi-turn conversation with a local GLM-V model. Attach media with /image, /video and /file; the answer
streams with its reasoning dimmed. Earlier turns are sent back by the model family's history rules
(GLM-4.1V gets only the earlier answers; GLM-4.5V/4.6V drop earlier reasoning in the template).

Options:
  -s, --system TEXT       A system message for the whole conversation.
      --no-thinking       Start with reasoning off (/think on turns it back on).
      --hide-thinking     Do not print the reasoning.
      --thinking-budget N Start with a reasoning budget (/budget changes it).
      --max-tokens N      Most tokens per answer.

${modelOptionsHelp}
${replHelp}
Example:
  glmv chat -m glm-4.6v-flash
  > /image receipt.jpg
  > What is the total?
`;

/** State of one chat session: the history and the switches the slash commands change. */
export interface ChatState {
  system?: string;
  history: ChatMessage[];
  pending: MessagePart[];
  thinking: boolean;
  budget?: number;
  maxTokens?: number;
}

/**
 * Applies a slash command to the state; returns the text to print, or `exit` to leave.
 * Pure apart from `/save`, which writes a file.
 */
export async function slashCommand(line: string, state: ChatState): Promise<string | "exit"> {
  const [word, ...rest] = line.trim().split(/\s+/);
  const arg = rest.join(" ");
  switch (word) {
    case "/exit":
    case "/quit":
    case "/bye":
      return "exit";
    case "/help":
      return replHelp;
    case "/image":
    case "/video":
    case "/file": {
      if (!arg) return `${word} needs a path or URL, e.g. ${word} ./photo.png`;
      const hasImage = state.pending.some((p) => p.type === "image_url");
      const hasVideo = state.pending.some((p) => p.type === "video_url");
      if ((word === "/video" && hasImage) || (word === "/image" && hasVideo)) {
        return "images and a video cannot be combined in one message; send them separately";
      }
      state.pending.push(
        word === "/image"
          ? { type: "image_url", image_url: { url: arg } }
          : word === "/video"
            ? { type: "video_url", video_url: { url: arg } }
            : { type: "file", file: { url: arg } },
      );
      return `attached ${arg} (sent with your next message)`;
    }
    case "/think":
      if (arg !== "on" && arg !== "off") return "use /think on or /think off";
      state.thinking = arg === "on";
      return `reasoning ${arg}`;
    case "/budget": {
      if (arg === "off") {
        state.budget = undefined;
        return "no reasoning budget";
      }
      const n = Number(arg);
      if (!Number.isInteger(n) || n < 0) return "use /budget N (tokens) or /budget off";
      state.budget = n;
      return `reasoning budget: ${n} tokens`;
    }
    case "/clear":
      state.history = [];
      state.pending = [];
      return "conversation cleared";
    case "/save": {
      if (!arg) return "use /save FILE";
      const messages = [
        ...(state.system ? [{ role: "system", content: state.system }] : []),
        ...state.history,
      ];
      await writeFile(arg, `${JSON.stringify({ messages }, null, 2)}\n`);
      return `saved ${messages.length} messages to ${arg}`;
    }
    default:
      return `unknown command ${word}; /help lists them`;
  }
}

/** Runs the read–answer loop over `io` until /exit or end of input. */
export async function chatLoop(
  backend: ChatBackend,
  state: ChatState,
  io: CommandIO,
  options: { showThinking: boolean },
): Promise<void> {
  const terminal = Boolean((io.stdout as { isTTY?: boolean }).isTTY);
  const color = terminal && !process.env.NO_COLOR;
  const rl = createInterface({ input: io.stdin, output: io.stdout, terminal, prompt: "> " });
  let current: AbortController | undefined;
  let inputClosed = false;
  rl.on("close", () => {
    inputClosed = true;
  });
  rl.on("SIGINT", () => {
    if (current) current.abort();
    else {
      io.stdout.write("\n(press Ctrl-D or type /exit to leave)\n");
      if (!inputClosed) rl.prompt();
    }
  });
  const lines = rl[Symbol.asyncIterator]();
  if (terminal) io.stdout.write("Type a message, or /help. Ctrl-C stops an answer, Ctrl-D leaves.\n");
  try {
    for (;;) {
      if (!inputClosed) rl.prompt();
      const next = await lines.next();
      if (next.done) break;
      const line = next.value;
      if (line.trim() === "") continue;
      if (line.startsWith("/")) {
        const reply = await slashCommand(line, state);
        if (reply === "exit") break;
        io.stdout.write(`${reply.trimEnd()}\n`);
        continue;
      }
      const user: ChatMessage = {
        role: "user",
        content: state.pending.length > 0 ? [...state.pending, { type: "text", text: line }] : line,
      };
      current = new AbortController();
      try {
        const result = await renderToTerminal(
          backend.chat(
            {
              messages: [
                ...(state.system ? [{ role: "system" as const, content: state.system }] : []),
                ...state.history,
                user,
              ],
              enableThinking: state.thinking ? undefined : false,
              thinkingBudget: state.budget,
              options: { maxTokens: state.maxTokens },
            },
            current.signal,
          ),
          io.stdout,
          { showThinking: options.showThinking, color },
        );
        if (result && result.finishReason !== "abort") {
          state.history.push(user, {
            role: "assistant",
            content: result.output.content ?? "",
            reasoning_content: result.output.reasoning,
          });
          state.pending = [];
        } else {
          io.stdout.write("\n(stopped; this turn was not kept)\n");
        }
      } catch (error) {
        io.stdout.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      } finally {
        current = undefined;
      }
    }
  } finally {
    rl.close();
  }
}

/** `glmv chat`: a multi-turn REPL over a local model. */
export const chatCommand: Command = {
  name: "chat",
  summary: "Talk with a model in your terminal, attaching images, video and documents",
  help,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...modelOptions,
        system: { type: "string", short: "s" },
        "no-thinking": { type: "boolean" },
        "hide-thinking": { type: "boolean" },
        "thinking-budget": { type: "string" },
        "max-tokens": { type: "string" },
      },
    });
    if (positionals.length > 0) {
      throw new UsageError(
        `glmv chat takes no prompt argument (got "${positionals[0]}"); use glmv run for one question`,
      );
    }
    const state: ChatState = {
      system: values.system,
      history: [],
      pending: [],
      thinking: !values["no-thinking"],
      budget: intOption(values["thinking-budget"], "--thinking-budget", 0),
      maxTokens: intOption(values["max-tokens"], "--max-tokens", 1),
    };
    const backend = await openModel(values, io.stderr);
    try {
      await chatLoop(backend, state, io, { showThinking: !values["hide-thinking"] });
    } finally {
      await backend.close();
    }
    return 0;
  },
};
