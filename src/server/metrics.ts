/**
 * A small Prometheus registry (counters, gauges, histograms) rendered in the text exposition format 0.0.4.
 * Names mirror vLLM's (spec §9.5) under the `glmv:` prefix.
 */

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${escapeLabel(labels[k])}"`).join(",");
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatNumber(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

interface Metric {
  name: string;
  help: string;
  render(): string[];
}

/** A monotonically increasing counter, optionally labelled. */
export class Counter implements Metric {
  readonly name: string;
  readonly help: string;
  private values = new Map<string, number>();
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [key, v] of this.values) lines.push(`${this.name}${key ? `{${key}}` : ""} ${formatNumber(v)}`);
    return lines;
  }
}

/** A gauge read from a callback at scrape time (queue depth, in-flight…). */
export class Gauge implements Metric {
  readonly name: string;
  readonly help: string;
  private readonly read: () => number;
  private readonly labels: Labels;
  constructor(name: string, help: string, read: () => number, labels: Labels = {}) {
    this.name = name;
    this.help = help;
    this.read = read;
    this.labels = labels;
  }
  render(): string[] {
    const key = labelKey(this.labels);
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} gauge`,
      `${this.name}${key ? `{${key}}` : ""} ${formatNumber(this.read())}`,
    ];
  }
}

/** A histogram with fixed upper bounds (cumulative buckets, `_sum`, `_count`). */
export class Histogram implements Metric {
  readonly name: string;
  readonly help: string;
  readonly buckets: number[];
  private series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(name: string, help: string, buckets: number[]) {
    this.name = name;
    this.help = help;
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  /** Number of observations (all label sets). */
  count(): number {
    let n = 0;
    for (const s of this.series.values()) n += s.count;
    return n;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [key, s] of this.series) {
      const prefix = key ? `${key},` : "";
      for (let i = 0; i < this.buckets.length; i++) {
        lines.push(`${this.name}_bucket{${prefix}le="${formatNumber(this.buckets[i])}"} ${s.counts[i]}`);
      }
      lines.push(`${this.name}_bucket{${prefix}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${key ? `{${key}}` : ""} ${formatNumber(s.sum)}`);
      lines.push(`${this.name}_count${key ? `{${key}}` : ""} ${s.count}`);
    }
    return lines;
  }
}

/** A set of metrics rendered together. */
export class Registry {
  private metrics: Metric[] = [];
  register<T extends Metric>(metric: T): T {
    this.metrics.push(metric);
    return metric;
  }
  /** The Prometheus text exposition (content type `text/plain; version=0.0.4`). */
  render(): string {
    return `${this.metrics.flatMap((m) => m.render()).join("\n")}\n`;
  }
}

const LATENCY_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
];
const TPOT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];

/** The server's metrics, named after vLLM's with the `glmv:` prefix. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter;
  readonly requestSuccess: Counter;
  readonly promptTokens: Counter;
  readonly generationTokens: Counter;
  readonly ttft: Histogram;
  readonly tpot: Histogram;
  readonly e2e: Histogram;
  readonly queueTime: Histogram;
  constructor(gauges: { running: () => number; waiting: () => number }, modelName: string) {
    const r = this.registry;
    const model = { model_name: modelName };
    r.register(
      new Gauge("glmv:num_requests_running", "Requests generating now (in-flight).", gauges.running, model),
    );
    r.register(
      new Gauge("glmv:num_requests_waiting", "Requests waiting in the queue.", gauges.waiting, model),
    );
    this.httpRequests = r.register(
      new Counter("glmv:http_requests_total", "HTTP requests by handler, method and status code."),
    );
    this.requestSuccess = r.register(
      new Counter("glmv:request_success_total", "Finished generations by finish reason."),
    );
    this.promptTokens = r.register(new Counter("glmv:prompt_tokens_total", "Prompt tokens processed."));
    this.generationTokens = r.register(new Counter("glmv:generation_tokens_total", "Tokens generated."));
    this.ttft = r.register(
      new Histogram(
        "glmv:time_to_first_token_seconds",
        "Time from request arrival to the first token.",
        LATENCY_BUCKETS,
      ),
    );
    this.tpot = r.register(
      new Histogram(
        "glmv:request_time_per_output_token_seconds",
        "Mean time per output token after the first.",
        TPOT_BUCKETS,
      ),
    );
    this.e2e = r.register(
      new Histogram(
        "glmv:e2e_request_latency_seconds",
        "Time from request arrival to the last token.",
        LATENCY_BUCKETS,
      ),
    );
    this.queueTime = r.register(
      new Histogram("glmv:request_queue_time_seconds", "Time a request waited for a slot.", LATENCY_BUCKETS),
    );
  }
  render(): string {
    return this.registry.render();
  }
}
