import type { Command } from "../command.ts";
import { parseCommand } from "./parse.ts";

/** Every `glmv` subcommand, in the order `glmv --help` lists them. */
export const commands: Command[] = [parseCommand];
