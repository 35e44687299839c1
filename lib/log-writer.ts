/**
 * Log output in batches. Moleculer's Console logger calls `console.log` once per line, and on a
 * file or a pipe every call is a synchronous write: one system call per line was the largest
 * single cost of a busy node's log (bench CPU profile). Here the lines written during one turn of
 * the event loop leave in one write; errors and fatals are written at once (after what is
 * pending, so the order holds), and whatever is pending is written when the process exits.
 */
import { Loggers } from "moleculer";
import type { LoggerBindings } from "moleculer/src/logger-factory";

export class LineBatcher {
  private pending: string[] = [];
  private scheduled = false;

  constructor(private readonly sink: (text: string) => void) {}

  write(line: string): void {
    this.pending.push(line);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const text = `${this.pending.join("\n")}\n`;
    this.pending = [];
    this.sink(text);
  }
}

const stdoutLines = new LineBatcher((text) => process.stdout.write(text));
process.on("exit", () => stdoutLines.flush());

const LEVELS = Loggers.LEVELS;

/** Moleculer's Console logger with batched standard output (same options, same formatter). */
export class BatchedConsoleLogger extends Loggers.Formatted<Loggers.Formatted.FormattedLoggerOptions> {
  override getLogHandler(bindings: LoggerBindings) {
    const level = bindings ? this.getLogLevel(bindings.mod) : null;
    if (!level) return null;
    const levelIndex = LEVELS.indexOf(level);
    const format = this.getFormatter(bindings);
    return (type: string, args: unknown[]) => {
      if (LEVELS.indexOf(type) > levelIndex) return;
      const line = format(type, args).join(" ");
      if (type === "error" || type === "fatal") {
        stdoutLines.flush();
        process.stderr.write(`${line}\n`);
      } else {
        stdoutLines.write(line);
      }
    };
  }
}
