// Role: framing — cuts a TCP byte stream into syslog messages (RFC 6587) and turns a message
// into one spool line.

/**
 * Splits a TCP stream into messages. Each frame is told apart by its first byte: a digit starts
 * an octet-counted frame (`<length> <message>`, RFC 6587 3.4.1, what RFC 5425/5426 senders use);
 * anything else a newline-delimited one (3.4.2, what most RFC 3164 senders do). A message over
 * `maxBytes` is cut to that length (the rest is skipped, not taken for the next message).
 */
export class SyslogFramer {
  readonly #maxBytes: number;
  #buf: Buffer = Buffer.alloc(0);
  /** Bytes of a cut message still to skip: a count (octet-counted), or -1 up to the next LF. */
  #skip = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Feeds a chunk; returns the complete messages in it, each with whether it was cut. */
  push(chunk: Buffer): Framed[] {
    const out: Framed[] = [];
    let buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    while (buf.length > 0) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, buf.length);
        buf = buf.subarray(n);
        this.#skip -= n;
        continue;
      }
      if (this.#skip === -1) {
        const nl = buf.indexOf(LF);
        buf = buf.subarray(nl === -1 ? buf.length : nl + 1);
        if (nl !== -1) this.#skip = 0;
        continue;
      }
      const frame = this.#frame(buf);
      if (frame === undefined) break;
      if (frame.message !== undefined) out.push(frame.message);
      buf = buf.subarray(frame.consumed);
      this.#skip = frame.skip;
    }
    // Copied: a view would pin the whole chunk it came from.
    this.#buf = Buffer.from(buf);
    return out;
  }

  /** The connection closed: what is left (an unterminated last message), if anything. */
  end(): Framed | undefined {
    const rest = this.#buf;
    this.#buf = Buffer.alloc(0);
    if (this.#skip !== 0 || rest.length === 0) return undefined;
    return { message: rest.subarray(0, this.#maxBytes), truncated: rest.length > this.#maxBytes };
  }

  /** The frame at the start of `buf`, or undefined when more bytes are needed to tell. */
  #frame(buf: Buffer): { message?: Framed; consumed: number; skip: number } | undefined {
    const max = this.#maxBytes;
    const head = buf.subarray(0, MAX_LENGTH_DIGITS + 1).toString('latin1');
    const counted = /^([1-9]\d{0,9}) /.exec(head);
    if (counted === null && /^\d{1,10}$/.test(head)) return undefined;
    if (counted !== null) {
      const length = Number(counted[1]);
      const body = buf.subarray((counted[0] as string).length);
      if (length <= max) {
        if (body.length < length) return undefined;
        return {
          message: { message: Buffer.from(body.subarray(0, length)), truncated: false },
          consumed: buf.length - body.length + length,
          skip: 0,
        };
      }
      if (body.length < max) return undefined;
      return {
        message: { message: Buffer.from(body.subarray(0, max)), truncated: true },
        consumed: buf.length - body.length + max,
        skip: length - max,
      };
    }
    const nl = buf.indexOf(LF);
    if (nl === -1) {
      if (buf.length <= max) return undefined;
      return {
        message: { message: Buffer.from(buf.subarray(0, max)), truncated: true },
        consumed: buf.length,
        skip: -1,
      };
    }
    const end = nl > 0 && buf[nl - 1] === CR ? nl - 1 : nl;
    // An empty line between messages is no message.
    if (end === 0) return { consumed: nl + 1, skip: 0 };
    return {
      message: { message: Buffer.from(buf.subarray(0, Math.min(end, max))), truncated: end > max },
      consumed: nl + 1,
      skip: 0,
    };
  }
}

/** A message cut from a stream or a datagram. */
export interface Framed {
  message: Buffer;
  /** It was longer than maxMessageBytes and cut to that length. */
  truncated: boolean;
}

/** An octet count has at most 10 digits (RFC 6587 allows any; 10 covers 4 GiB). */
const MAX_LENGTH_DIGITS = 10;

const LF = 0x0a;
const CR = 0x0d;

/**
 * A message as one spool line: a trailing newline dropped, and CR/LF inside it written as the
 * two characters `\r` / `\n`, so that one message stays one line (one record) downstream.
 */
export function spoolLine(message: Buffer): Buffer {
  let end = message.length;
  while (end > 0 && (message[end - 1] === LF || message[end - 1] === CR)) end--;
  const body = message.subarray(0, end);
  if (body.indexOf(LF) === -1 && body.indexOf(CR) === -1) return body;
  const parts: number[] = [];
  for (const b of body) {
    if (b === LF) parts.push(0x5c, 0x6e);
    else if (b === CR) parts.push(0x5c, 0x72);
    else parts.push(b);
  }
  return Buffer.from(parts);
}
