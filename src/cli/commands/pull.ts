import { parseArgs } from "node:util";
import { MODEL_ALIASES } from "../../store/aliases.ts";
import { formatPullPlan } from "../../store/notice.ts";
import { createProgressPrinter, formatBytes } from "../../store/progress.ts";
import { planPull, pullModel, type StoreOptions } from "../../store/store.ts";
import { type Command, type CommandIO, UsageError } from "../command.ts";

const aliasLines = MODEL_ALIASES.map(
  (a) => `  ${a.name.padEnd(20)} ${a.repo}:${a.defaultQuant}\n${" ".repeat(23)}${a.description}`,
);

const HELP = `Usage: glmv pull [options] <model>...

Downloads a GLM-V model (its GGUF weights and vision projector) into the glmv cache, so that
\`glmv run\` and \`glmv serve\` start without downloading and work offline. A pull that was cut off
resumes where it stopped; every file is checked against the hub's sha256.

Models:
${aliasLines.join("\n")}
  owner/repo[:QUANT]   any Hugging Face GGUF repository; QUANT as in the file names (Q4_K_M, Q8_0,
                       F16…, any case). Without QUANT: Q4_K_M, else Q8_0, else the only one.
  owner/repo@REV:QUANT a branch, tag or commit instead of main.
  The vision projector is the repository's mmproj file, F16 preferred (then BF16, Q8_0, F32).

Options:
  --dry-run   list the files and sizes, download nothing
  --json      print the result as JSON on stdout (progress stays on stderr)
  --quiet     no progress bar
  -h, --help  this text

Environment:
  GLMV_HOME       cache folder (default $XDG_CACHE_HOME/glmv, else ~/.cache/glmv)
  HF_TOKEN        Hugging Face token for gated or private repositories
  HF_ENDPOINT     hub URL, e.g. a mirror (default https://huggingface.co)
  GLMV_OFFLINE=1  (or HF_HUB_OFFLINE=1) never touch the network; use only cached models

Examples:
  glmv pull glm-4.6v-flash
  glmv pull glm-ocr:F16
  glmv pull ggml-org/GLM-4.6V-Flash-GGUF:Q8_0
  HF_TOKEN=hf_xxx glmv pull my-org/private-GLM-GGUF --dry-run
`;

/** The abort reason when the user presses Ctrl-C during a pull. */
class PullInterrupted extends Error {
  override name = "PullInterrupted";
}

/** Builds `glmv pull`; tests pass store options (cache folder, hub endpoint). */
export function createPullCommand(storeOptions: StoreOptions = {}): Command {
  return {
    name: "pull",
    summary: "Download a GLM-V model (GGUF + mmproj) into the local cache",
    help: HELP,
    async run(argv: string[], io: CommandIO): Promise<number> {
      const { values, positionals } = parseArgs({
        args: argv,
        allowPositionals: true,
        options: { "dry-run": { type: "boolean" }, json: { type: "boolean" }, quiet: { type: "boolean" } },
      });
      if (positionals.length === 0)
        throw new UsageError("name the model to pull, e.g. glmv pull glm-4.6v-flash");
      const stderr = io.stderr as NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
      const results: unknown[] = [];
      for (const ref of positionals) {
        if (values["dry-run"]) {
          const plan = await planPull(ref, storeOptions);
          if (values.json) results.push(plan);
          else io.stdout.write(formatPullPlan(plan));
          continue;
        }
        const onProgress = values.quiet
          ? undefined
          : createProgressPrinter(stderr, { isTTY: Boolean(stderr.isTTY), columns: stderr.columns });
        // Ctrl-C stops the download cleanly (partial file kept, lock released) instead of killing the process.
        const interrupt = new AbortController();
        const onSigint = () => interrupt.abort(new PullInterrupted());
        process.once("SIGINT", onSigint);
        let result: Awaited<ReturnType<typeof pullModel>>;
        try {
          result = await pullModel(ref, {
            ...storeOptions,
            signal: storeOptions.signal
              ? AbortSignal.any([storeOptions.signal, interrupt.signal])
              : interrupt.signal,
            onPlan: (plan) => void stderr.write(formatPullPlan(plan)),
            onProgress,
          });
        } catch (error) {
          if (error instanceof PullInterrupted) {
            stderr.write(`\nInterrupted. Run \`glmv pull ${ref}\` again to resume where it stopped.\n`);
            return 130;
          }
          throw error;
        } finally {
          process.removeListener("SIGINT", onSigint);
        }
        const size = result.manifest.files.reduce((n, f) => n + f.size, 0);
        if (values.json) {
          results.push({
            ref: result.manifest.ref,
            modelPath: result.modelPath,
            mmprojPath: result.mmprojPath ?? null,
            downloadedBytes: result.downloadedBytes,
            upToDate: result.upToDate,
            manifest: result.manifest,
          });
          continue;
        }
        const status = !result.checkedHub
          ? "is in the cache (offline: not checked for updates)"
          : result.upToDate
            ? "is up to date"
            : `pulled (${formatBytes(result.downloadedBytes)} downloaded)`;
        io.stdout.write(
          `${result.manifest.ref} ${status}, ${formatBytes(size)}\n  model:  ${result.modelPath}\n` +
            (result.mmprojPath ? `  mmproj: ${result.mmprojPath}\n` : ""),
        );
      }
      if (values.json)
        io.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
      return 0;
    },
  };
}

/** `glmv pull`: download models into the cache. */
export const pullCommand: Command = createPullCommand();
