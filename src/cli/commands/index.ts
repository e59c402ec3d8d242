import type { Command } from "../command.ts";
import { benchCommand } from "./bench.ts";
import { chatCommand } from "./chat.ts";
import { devCommand } from "./dev.ts";
import { listCommand } from "./list.ts";
import { parseCommand } from "./parse.ts";
import { pullCommand } from "./pull.ts";
import { rewardCommand } from "./reward.ts";
import { rmCommand } from "./rm.ts";
import { runCommand } from "./run.ts";
import { serveCommand } from "./serve.ts";

/** Every `glmv` subcommand, in the order `glmv --help` lists them. */
export const commands: Command[] = [
  runCommand,
  chatCommand,
  serveCommand,
  benchCommand,
  parseCommand,
  pullCommand,
  listCommand,
  rmCommand,
  rewardCommand,
  devCommand,
];
