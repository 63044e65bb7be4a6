// Role: decoder — turns a line's bytes in the tail's `encoding` into UTF-8 for shipping,
// replacing invalid sequences by U+FFFD (counted, never a crash).

import { isAscii } from 'node:buffer';
import { TextDecoder } from 'node:util';

/**
 * Encodings a tail may declare. All but UTF-16 are ASCII-compatible for `\n` and `\r`: those
 * bytes never occur inside a multibyte character (GBK, GB18030, Big5, Shift_JIS and EUC-KR
 * trail bytes are ≥ 0x40), so the line splitter finds line ends on the raw bytes as for UTF-8.
 * UTF-16 files are split by WideLineSplitter (the `\n` code unit at an even offset).
 */
export const ENCODINGS = [
  'utf-8',
  'gbk',
  'gb18030',
  'big5',
  'shift_jis',
  'euc-kr',
  'latin1',
  'utf-16le',
  'utf-16be',
] as const;

export type Encoding = (typeof ENCODINGS)[number];

/** The byte order of a UTF-16 encoding (its files need the wide line splitter), else undefined. */
export function wideByteOrder(encoding: Encoding | undefined): 'le' | 'be' | undefined {
  if (encoding === 'utf-16le') return 'le';
  if (encoding === 'utf-16be') return 'be';
  return undefined;
}

/** A line decoded to UTF-8: as text (for patterns and filters) and as bytes (to ship). */
export interface DecodedLine {
  text: string;
  bytes: Buffer;
  /** Invalid sequences replaced by U+FFFD (0 for a valid line). */
  invalid: number;
}

const REPLACEMENT = 0xfffd;

/** Decodes lines from one encoding. Stateless between lines: a line is a whole unit. */
export class LineDecoder {
  readonly encoding: Encoding;
  readonly #strict: TextDecoder | undefined;
  readonly #lenient: TextDecoder | undefined;

  constructor(encoding: Encoding) {
    this.encoding = encoding;
    if (encoding !== 'utf-8' && encoding !== 'latin1') {
      // WHATWG labels; Node 20 ships full ICU, so these exist. GBK is read by the GB18030
      // decoder, as the WHATWG Encoding Standard (and every browser) reads it: Node's "gbk" is
      // ICU's windows-936, which takes the byte 0xFF (never a GBK byte) for U+F8F5 instead of an
      // invalid sequence, and maps some codes to private-use points GB18030 has standard ones for.
      const label = encoding === 'gbk' ? 'gb18030' : encoding;
      this.#strict = new TextDecoder(label, { fatal: true });
      this.#lenient = new TextDecoder(label, { fatal: false });
    }
  }

  /** UTF-16: lines end with 2- or 4-byte terminators (`\n`, `\r\n` code units). */
  get wide(): boolean {
    return wideByteOrder(this.encoding) !== undefined;
  }

  /** Whether lines pass through untouched (UTF-8: the bytes are shipped as they are). */
  get passThrough(): boolean {
    return this.encoding === 'utf-8';
  }

  decode(bytes: Buffer): DecodedLine {
    if (this.encoding === 'utf-8') return { text: bytes.toString('utf8'), bytes, invalid: 0 };
    // The 8-bit and multibyte encodings map ASCII bytes to themselves: such a line is UTF-8.
    if (!this.wide && isAscii(bytes)) return { text: bytes.toString('latin1'), bytes, invalid: 0 };
    if (this.encoding === 'latin1') {
      // ISO-8859-1 proper (not windows-1252, which the WHATWG label means): every byte is valid.
      const text = bytes.toString('latin1');
      return { text, bytes: Buffer.from(text, 'utf8'), invalid: 0 };
    }
    let text: string;
    let invalid = 0;
    try {
      text = (this.#strict as TextDecoder).decode(bytes);
    } catch {
      // Invalid: decode again, leniently, and count what was replaced.
      text = (this.#lenient as TextDecoder).decode(bytes);
      for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === REPLACEMENT) invalid++;
      invalid = Math.max(invalid, 1);
    }
    return { text, bytes: Buffer.from(text, 'utf8'), invalid };
  }
}
