/**
 * A Server-Sent Events decoder: bytes in, the `data` payload of each event out. Handles `\n`, `\r\n` and
 * `\r` line ends, multi-line data, comments and events split across network chunks.
 */

/** Decodes SSE bytes incrementally. */
export class SseDecoder {
  private buffer = "";
  private data: string[] = [];
  private readonly text = new TextDecoder();

  /** Feeds bytes; returns the data payloads of the events completed by them. */
  push(bytes: Uint8Array | string): string[] {
    this.buffer += typeof bytes === "string" ? bytes : this.text.decode(bytes, { stream: true });
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = this.findLineEnd(start);
      if (nl < 0) break;
      const line = this.buffer.slice(start, nl);
      start = nl + (this.buffer[nl] === "\r" && this.buffer[nl + 1] === "\n" ? 2 : 1);
      this.line(line, out);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** Ends the input; returns a last event not followed by a blank line. */
  finish(): string[] {
    const out: string[] = [];
    if (this.buffer !== "") this.line(this.buffer, out);
    this.buffer = "";
    this.line("", out);
    return out;
  }

  private findLineEnd(from: number): number {
    const n = this.buffer.indexOf("\n", from);
    const r = this.buffer.indexOf("\r", from);
    if (r < 0) return n;
    if (n < 0) return r === this.buffer.length - 1 ? -1 : r; // a lone trailing \r may be half of \r\n
    return Math.min(n, r);
  }

  private line(line: string, out: string[]): void {
    if (line === "") {
      if (this.data.length > 0) out.push(this.data.join("\n"));
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== "data") return;
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    this.data.push(value);
  }
}

/** Iterates the data payloads of an SSE response body. */
export async function* readSse(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncGenerator<string> {
  const decoder = new SseDecoder();
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    for (const data of decoder.push(chunk)) yield data;
  }
  for (const data of decoder.finish()) yield data;
}
