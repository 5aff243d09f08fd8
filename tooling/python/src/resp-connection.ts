// A bare RESP (Redis protocol) connection for CeleryRedisResults: enough to SELECT, GET, SET and
// PUBLISH a handful of results without making the interop package depend on a Redis client.
import { connect, type Socket } from 'node:net';

/** A decoded RESP reply: simple or bulk string, integer, nil, or array of those. */
export type RespReply = string | number | null | RespReply[];

/** One Redis connection that sends a command at a time (enough for a handful of results). */
export class RespConnection {
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #waiting: { resolve(reply: RespReply): void; reject(error: Error): void } | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(host: string, port: number) {
    this.#socket = connect({ host, port });
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      const parsed = parseRespReply(this.#buffer, 0);
      if (parsed === undefined) return;
      this.#buffer = this.#buffer.subarray(parsed.end);
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (parsed.error !== undefined) waiting?.reject(new Error(`Redis: ${parsed.error}`));
      else waiting?.resolve(parsed.value);
    });
    this.#socket.on('error', (error) => this.#waiting?.reject(error));
  }

  /** Sends one command once the previous one has its reply; a Redis error reply rejects. */
  command(...args: string[]): Promise<RespReply> {
    const run = () =>
      new Promise<RespReply>((resolve, reject) => {
        this.#waiting = { resolve, reject };
        const parts = args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`);
        this.#socket.write(`*${args.length}\r\n${parts.join('')}`);
      });
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => {});
    return next;
  }

  close(): void {
    this.#socket.destroy();
  }
}

/**
 * Decodes the reply that starts at `start`, or undefined while `buffer` does not hold all of it yet.
 * An error reply comes back as `error`, so the caller can reject the command it answers.
 */
export function parseRespReply(
  buffer: Buffer,
  start: number,
): { value: RespReply; error?: string; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', start);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[start] ?? 0);
  const line = buffer.toString('utf8', start + 1, lineEnd);
  const after = lineEnd + 2;
  if (type === '+') return { value: line, end: after };
  if (type === '-') return { value: null, error: line, end: after };
  if (type === ':') return { value: Number(line), end: after };
  if (type === '$') {
    const length = Number(line);
    if (length < 0) return { value: null, end: after };
    if (buffer.length < after + length + 2) return undefined;
    return { value: buffer.toString('utf8', after, after + length), end: after + length + 2 };
  }
  if (type === '*') {
    const count = Number(line);
    const items: RespReply[] = [];
    let at = after;
    for (let i = 0; i < count; i += 1) {
      const item = parseRespReply(buffer, at);
      if (item === undefined) return undefined;
      items.push(item.value);
      at = item.end;
    }
    return { value: items, end: at };
  }
  throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
}
