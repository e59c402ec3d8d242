/**
 * Running the external tools of the pipeline (ffmpeg, ffprobe, LibreOffice): binary lookup by env variable,
 * a time limit that kills the whole process group, output caps, and a clear error when the tool is missing.
 */
import { spawn } from "node:child_process";
import { MediaError, type MediaErrorCode } from "./errors.ts";

/** How to find one external tool. */
export interface ToolSpec {
  /** Default command name on PATH. */
  command: string;
  /** Env variable that overrides the command (a path or another name). */
  env: string;
  /** MediaError code when it is missing. */
  missingCode: MediaErrorCode;
  /** Install hint for the error message. */
  install: string;
}

/** ffmpeg (Debian's package; any ffmpeg ≥ 5.1 on PATH works). */
export const FFMPEG: ToolSpec = {
  command: "ffmpeg",
  env: "GLMV_FFMPEG",
  missingCode: "ffmpeg-missing",
  install: "Install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg), or set GLMV_FFMPEG to its path",
};

/** ffprobe, shipped with ffmpeg. */
export const FFPROBE: ToolSpec = {
  command: "ffprobe",
  env: "GLMV_FFPROBE",
  missingCode: "ffmpeg-missing",
  install:
    "Install ffmpeg, which includes ffprobe (Debian/Ubuntu: apt-get install ffmpeg), or set GLMV_FFPROBE",
};

/** LibreOffice's headless converter. */
export const SOFFICE: ToolSpec = {
  command: "soffice",
  env: "GLMV_SOFFICE",
  missingCode: "libreoffice-missing",
  install:
    "Install LibreOffice (Debian/Ubuntu: apt-get install libreoffice-impress-nogui libreoffice-writer-nogui), or set GLMV_SOFFICE to its path",
};

/** The command to run for a tool: an explicit override, then the env variable, then the default name. */
export function toolCommand(tool: ToolSpec, override?: string): string {
  return override || process.env[tool.env] || tool.command;
}

/** What a finished tool run produced. */
export interface ToolResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Options of {@link runTool}. */
export interface RunToolOptions {
  /** Override of the command (else env variable, else default). */
  command?: string;
  timeoutMs: number;
  /** Stop reading stdout past this many bytes (the process is killed). */
  maxStdout?: number;
  /** Name of the input for errors. */
  input: string;
  env?: NodeJS.ProcessEnv;
  /** Aborting kills the tool; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Runs a tool, collecting stdout (bytes) and the tail of stderr. Rejects with MediaError when the tool is
 * missing (`*-missing`) or runs past the time limit (`timeout`). A non-zero exit is returned, not thrown.
 */
export function runTool(tool: ToolSpec, args: string[], options: RunToolOptions): Promise<ToolResult> {
  const command = toolCommand(tool, options.command);
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(options.signal.reason);
      return;
    }
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: options.env ?? process.env,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let collected = 0;
    let stderr = "";
    let timedOut = false;
    let overflow = false;
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", (chunk: Buffer) => {
      if (overflow) return;
      size += chunk.length;
      if (options.maxStdout !== undefined && size > options.maxStdout) {
        overflow = true;
        kill();
        return;
      }
      chunks.push(chunk);
      collected += chunk.length;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === "ENOENT") {
        reject(
          new MediaError(tool.missingCode, options.input, `${command} was not found`, `${tool.install}.`, {
            cause: error,
          }),
        );
      } else {
        reject(
          new MediaError(
            "conversion-failed",
            options.input,
            `${command} could not start (${error.message})`,
            "Check the installation.",
            {
              cause: error,
            },
          ),
        );
      }
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (aborted) {
        reject(options.signal?.reason);
        return;
      }
      if (timedOut) {
        reject(
          new MediaError(
            "timeout",
            options.input,
            `${command} did not finish within ${options.timeoutMs} ms`,
            "Use a shorter or smaller file, or raise the time limit.",
          ),
        );
        return;
      }
      resolve({ code: overflow ? null : code, stdout: Buffer.concat(chunks, collected), stderr });
    });
  });
}

/** The last meaningful line of a tool's stderr, for error messages. */
export function lastLine(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? "no error output";
}
