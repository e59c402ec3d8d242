import type { Command } from "../command.ts";

/** `glmv parse`: parse raw GLM-V output into reasoning, content, tool calls and boxes. */
export const parseCommand: Command = {
  name: "parse",
  summary: "Parse raw GLM-V model output into reasoning, content, tool calls and boxes",
  help: "Usage: glmv parse [--family F] [--no-thinking] [--tools tools.json] [--stream] [--image-size WxH] [FILE|-]\n",
  async run() {
    throw new Error("not implemented yet");
  },
};
