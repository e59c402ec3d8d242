import type { Command } from "../command.ts";
import { devCommand } from "./dev.ts";
import { listCommand } from "./list.ts";
import { parseCommand } from "./parse.ts";
import { pullCommand } from "./pull.ts";
import { rmCommand } from "./rm.ts";

/** Every `glmv` subcommand, in the order `glmv --help` lists them. */
export const commands: Command[] = [parseCommand, pullCommand, listCommand, rmCommand, devCommand];
