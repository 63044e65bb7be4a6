/**
 * The bench's input: a file of fixed-size lines (100 bytes with the newline), each with a
 * sequence number so no two lines are the same.
 */
import { open } from 'node:fs/promises';

/** Bytes per line, newline included. */
export const LINE_BYTES = 100;

const LINES_PER_WRITE = 40_960; // ~4 MB per write() call

/** The largest whole number of lines that fits in `mib` MiB, in bytes. */
export function fileBytesFor(mib: number): number {
  return Math.floor((mib * 1024 * 1024) / LINE_BYTES) * LINE_BYTES;
}

/** Writes `bytes` (a multiple of LINE_BYTES) of lines to `path`; returns the line count. */
export async function generateFile(path: string, bytes: number): Promise<number> {
  if (bytes <= 0 || bytes % LINE_BYTES !== 0) {
    throw new Error(`file size must be a positive multiple of ${LINE_BYTES}, got ${bytes}`);
  }
  const prefix = '2025-01-01T00:00:00.000Z INFO  [worker-3] bench.app: request served seq=';
  const digits = 12;
  const suffix = ' status=200 ';
  const pad = LINE_BYTES - 1 - prefix.length - digits - suffix.length;
  if (pad < 0) throw new Error('line template longer than a line');
  const template = Buffer.from(`${prefix}${'0'.repeat(digits)}${suffix}${'x'.repeat(pad)}\n`);
  const seqAt = prefix.length;

  const total = bytes / LINE_BYTES;
  const block = Buffer.alloc(LINES_PER_WRITE * LINE_BYTES);
  for (let i = 0; i < LINES_PER_WRITE; i++) template.copy(block, i * LINE_BYTES);
  const handle = await open(path, 'w');
  try {
    let seq = 0;
    while (seq < total) {
      const n = Math.min(LINES_PER_WRITE, total - seq);
      for (let i = 0; i < n; i++) {
        let v = seq + i;
        const end = i * LINE_BYTES + seqAt + digits;
        for (let d = 1; d <= digits; d++) {
          block[end - d] = 48 + (v % 10);
          v = Math.floor(v / 10);
        }
      }
      const len = n * LINE_BYTES;
      let written = 0;
      while (written < len) {
        const r = await handle.write(block, written, len - written);
        written += r.bytesWritten;
      }
      seq += n;
    }
  } finally {
    await handle.close();
  }
  return total;
}

/** A small, fast, seeded PRNG (xorshift32): the same file every run. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const METHODS = ['GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE'];
const ROUTES = [
  '/api/v2/orders/',
  '/api/v2/items/',
  '/api/v2/users/',
  '/static/js/app.',
  '/checkout/session/',
  '/search?q=',
  '/healthz',
  '/api/v2/carts/',
];
const STATUSES = [200, 200, 200, 200, 200, 200, 201, 204, 301, 304, 400, 404, 404, 500, 503];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'curl/8.5.0',
  'okhttp/4.12.0',
  'Go-http-client/2.0',
  'kube-probe/1.31',
];
const REFERERS = [
  '-',
  '-',
  'https://shop.example.com/',
  'https://shop.example.com/cart',
  'https://www.google.com/',
];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * Access-log lines as a web server writes them (nginx "combined" plus response time, a user id
 * and a random 128-bit request id), ~230 bytes on average, varying in length: what wire
 * compression meets in practice. The fixed-size lines of `generateFile` repeat most of their
 * bytes and compress far better than real logs; this file keeps the compression figures honest.
 * Writes whole lines up to `bytes`; returns the bytes written and the line count.
 */
export async function generateAccessLog(
  path: string,
  bytes: number,
): Promise<{ bytes: number; lines: number }> {
  const rand = xorshift(0x5eed);
  const pick = <T>(list: readonly T[]): T => list[rand() % list.length] as T;
  const hex = (n: number) => rand().toString(16).padStart(8, '0').slice(0, n);
  let t = Date.UTC(2026, 11, 7, 19, 0, 0);
  const handle = await open(path, 'w');
  let written = 0;
  let lines = 0;
  try {
    while (written < bytes) {
      const chunk: string[] = [];
      let chunkBytes = 0;
      while (chunkBytes < 4 * 1024 * 1024) {
        t += rand() % 3;
        const d = new Date(t);
        const stamp = `${pad(d.getUTCDate(), 2)}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)} +0000`;
        const ip = `${10 + (rand() % 200)}.${rand() % 256}.${rand() % 256}.${rand() % 256}`;
        const route = pick(ROUTES);
        const target = route.endsWith('=')
          ? `${route}${hex(6)}&page=${rand() % 20}`
          : route.endsWith('.')
            ? `${route}${hex(8)}.js`
            : route.endsWith('/')
              ? `${route}${rand() % 1_000_000}`
              : route;
        const status = pick(STATUSES);
        const size = status === 204 || status === 304 ? 0 : rand() % 50_000;
        const rt = (rand() % 2000) / 1000;
        const line =
          `${ip} - - [${stamp}] "${pick(METHODS)} ${target} HTTP/1.1" ${status} ${size} ` +
          `"${pick(REFERERS)}" "${pick(AGENTS)}" rt=${rt.toFixed(3)} uid=${rand() % 100_000} ` +
          `req=${hex(8)}${hex(8)}${hex(8)}${hex(8)}\n`;
        if (written + chunkBytes + line.length > bytes) break;
        chunk.push(line);
        chunkBytes += line.length;
        lines++;
      }
      if (chunkBytes === 0) break;
      await handle.write(chunk.join(''));
      written += chunkBytes;
    }
  } finally {
    await handle.close();
  }
  return { bytes: written, lines };
}
