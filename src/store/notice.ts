import { formatBytes } from "./progress.ts";
import type { PullPlan } from "./store.ts";

/**
 * The size notice printed before a download starts (stderr): what is pulled, each file with its size and
 * state, and how much will be downloaded. `glmv pull` prints it; `glmv run` should print it from `onPlan`
 * when the default model is pulled on first use.
 */
export function formatPullPlan(plan: PullPlan, home?: string): string {
  const name = plan.alias ? `${plan.alias} (${plan.ref})` : plan.ref;
  const lines = [`Pulling ${name} at commit ${plan.commit.slice(0, 12)}`];
  for (const f of plan.files) {
    const state = f.cached
      ? "cached"
      : f.partialBytes > 0
        ? `resuming at ${formatBytes(f.partialBytes)}`
        : "";
    lines.push(
      `  ${f.role === "mmproj" ? "mmproj" : "model "}  ${f.path}  ${formatBytes(f.size)}${state ? `  (${state})` : ""}`,
    );
  }
  if (!plan.files.some((f) => f.role === "mmproj")) {
    lines.push("  note: the repository has no mmproj file, so this model will read text only");
  }
  lines.push(
    plan.downloadBytes > 0
      ? `Downloading ${formatBytes(plan.downloadBytes)}${home ? ` into ${home}` : ""}`
      : "Everything is already in the cache.",
  );
  return `${lines.join("\n")}\n`;
}
