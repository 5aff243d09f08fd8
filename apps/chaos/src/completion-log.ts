import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** One completion record: task number, the worker incarnation that ran it, when it completed. */
export interface Completion {
  readonly n: number;
  readonly worker: string;
  readonly at: number;
}

/**
 * Reads the workers' completion files as they grow (every file in `dir`, from where the last read
 * stopped), so the runner knows the progress live and has every record at the end.
 */
export class CompletionLog {
  readonly #dir: string;
  readonly #offsets = new Map<string, { offset: number; partial: string }>();
  /** Every record read so far, in reading order. */
  readonly all: Completion[] = [];
  /** Task numbers completed at least once. */
  readonly distinct = new Set<number>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Reads what the files gained since the last call. */
  poll(): void {
    for (const name of readdirSync(this.#dir)) {
      if (!name.endsWith('.log')) continue;
      const state = this.#offsets.get(name) ?? { offset: 0, partial: '' };
      this.#offsets.set(name, state);
      const fd = openSync(join(this.#dir, name), 'r');
      try {
        const buffer = Buffer.alloc(1 << 16);
        for (;;) {
          const read = readSync(fd, buffer, 0, buffer.length, state.offset);
          if (read === 0) break;
          state.offset += read;
          const lines = (state.partial + buffer.toString('utf8', 0, read)).split('\n');
          state.partial = lines.pop()!;
          for (const line of lines) this.#add(line);
        }
      } finally {
        closeSync(fd);
      }
    }
  }

  #add(line: string): void {
    const [n, worker, at] = line.split(' ');
    const record = { n: Number(n), worker: worker!, at: Number(at) };
    this.all.push(record);
    this.distinct.add(record.n);
  }
}
