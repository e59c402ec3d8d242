/** Formats a byte count with decimal units, as the Hugging Face site does: `6.17 GB`, `980 MB`, `12 B`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** Formats seconds as `45s`, `3m07s`, `2h05m`; `--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** One progress report of a model download. */
export interface DownloadProgress {
  /** The file being downloaded (its path in the repository). */
  file: string;
  /** 1-based position of this file among the files being downloaded, and their count. */
  fileIndex: number;
  fileCount: number;
  /** Bytes of this file on disk so far (a resumed download starts above 0), and its size. */
  received: number;
  total: number;
  /** Bytes this file already had when the download (re)started. */
  resumedFrom: number;
  /** True on the last report of a file (downloaded and verified). */
  done: boolean;
}

/** What the progress line shows at one moment. */
export interface ProgressSnapshot extends DownloadProgress {
  /** Bytes per second over the recent window; 0 while unknown. */
  bytesPerSecond: number;
}

/** Renders one progress line: `[2/2] mmproj-F16.gguf [#####-----]  52%  512 MB / 980 MB  35.2 MB/s  ETA 13s`. */
export function formatProgressLine(p: ProgressSnapshot, barWidth = 20): string {
  const fraction = p.total > 0 ? Math.min(1, p.received / p.total) : 0;
  const filled = Math.round(fraction * barWidth);
  const bar = `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]`;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const speed = p.bytesPerSecond > 0 ? `${formatBytes(p.bytesPerSecond)}/s` : "-- B/s";
  const eta = p.done
    ? "done"
    : `ETA ${p.bytesPerSecond > 0 ? formatDuration((p.total - p.received) / p.bytesPerSecond) : "--"}`;
  const name = p.file.slice(p.file.lastIndexOf("/") + 1);
  return `[${p.fileIndex}/${p.fileCount}] ${name} ${bar} ${percent}  ${formatBytes(p.received)} / ${formatBytes(p.total)}  ${speed}  ${eta}`;
}

/** Measures throughput over a sliding window of recent samples. */
export class SpeedMeter {
  private samples: { t: number; bytes: number }[] = [];
  private readonly windowMs: number;
  constructor(windowMs = 5000) {
    this.windowMs = windowMs;
  }
  /** Records that `bytes` (a running total) had arrived at time `t` (ms); returns bytes per second. */
  sample(t: number, bytes: number): number {
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[1].t >= this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const dt = t - first.t;
    return dt > 0 ? ((bytes - first.bytes) * 1000) / dt : 0;
  }
  /** Forgets the samples (a new file starts). */
  reset(): void {
    this.samples = [];
  }
}

/** How `createProgressPrinter` writes. */
export interface ProgressPrinterOptions {
  /** Redraw one line in place (a terminal) or print plain lines (a log, a pipe). */
  isTTY: boolean;
  /** Milliseconds between redraws on a TTY (default 100) or between plain lines (default 5000). */
  intervalMs?: number;
  /** Clock in ms (tests inject one). */
  now?: () => number;
  /** Terminal width for the TTY line (default 100). */
  columns?: number;
}

/**
 * Returns an `onProgress` callback that draws a progress bar on `stream` (normally stderr): redrawn in place
 * on a TTY, one plain line every few seconds otherwise; always one final line per file.
 */
export function createProgressPrinter(
  stream: NodeJS.WritableStream,
  options: ProgressPrinterOptions,
): (p: DownloadProgress) => void {
  const now = options.now ?? (() => Date.now());
  const interval = options.intervalMs ?? (options.isTTY ? 100 : 5000);
  const meter = new SpeedMeter();
  let lastPrint = Number.NEGATIVE_INFINITY;
  let currentFile = "";
  return (p) => {
    const t = now();
    if (p.file !== currentFile) {
      currentFile = p.file;
      meter.reset();
      lastPrint = Number.NEGATIVE_INFINITY;
    }
    const bytesPerSecond = meter.sample(t, p.received);
    if (!p.done && t - lastPrint < interval) return;
    lastPrint = t;
    const line = formatProgressLine({ ...p, bytesPerSecond });
    if (options.isTTY) {
      const width = Math.max(20, (options.columns ?? 100) - 1);
      stream.write(`\r${line.slice(0, width).padEnd(width)}${p.done ? "\n" : ""}`);
    } else {
      stream.write(`${line}\n`);
    }
  };
}
