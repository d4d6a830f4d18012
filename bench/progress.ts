/**
 * A progress line on stderr: a redrawn bar on a terminal, a plain line every few seconds otherwise
 * (CI logs, the smoke test), so a long run never looks hung.
 */
export class Progress {
  readonly #tty = Boolean(process.stderr.isTTY);
  #label = '';
  #started = 0;
  #total = 0;
  #lastLine = 0;

  phase(label: string, totalSeconds: number): void {
    this.done();
    this.#label = label;
    this.#started = Date.now();
    this.#total = totalSeconds;
    this.#lastLine = 0;
    this.update('');
  }

  update(detail: string): void {
    if (!this.#label) return;
    const elapsed = Math.min(this.#total, (Date.now() - this.#started) / 1000);
    const width = 24;
    const filled = this.#total > 0 ? Math.round((elapsed / this.#total) * width) : width;
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    const line = `${this.#label.padEnd(22)} ${bar} ${elapsed.toFixed(0)}s/${this.#total}s ${detail}`;
    if (this.#tty) {
      process.stderr.write(`\r${line.padEnd(100).slice(0, Math.max(100, line.length))}`);
    } else if (Date.now() - this.#lastLine >= 5_000) {
      this.#lastLine = Date.now();
      process.stderr.write(`${line}\n`);
    }
  }

  /** Ends the current bar (a newline on a terminal). */
  done(): void {
    if (this.#label && this.#tty) process.stderr.write('\n');
    this.#label = '';
  }

  note(message: string): void {
    this.done();
    process.stderr.write(`${message}\n`);
  }
}
