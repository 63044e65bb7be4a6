// Role: decoder — turns a line's bytes in the tail's `encoding` into UTF-8 for shipping,
// replacing invalid sequences by U+FFFD (counted, never a crash).

import { isAscii } from 'node:buffer';
import { TextDecoder } from 'node:util';

/**
 * Encodings a tail may declare. All are ASCII-compatible for `\n` and `\r`: those bytes never
 * occur inside a multibyte character (GBK, GB18030, Big5, Shift_JIS and EUC-KR trail bytes are
 * ≥ 0x40), so the line splitter finds line ends on the raw bytes as for UTF-8. UTF-16 is not
 * offered: its newline is a 2-byte unit the splitter does not look for (yet).
 */
export const ENCODINGS = [
  'utf-8',
  'gbk',
  'gb18030',
  'big5',
  'shift_jis',
  'euc-kr',
  'latin1',
] as const;

export type Encoding = (typeof ENCODINGS)[number];

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
      // WHATWG labels; Node 20 ships full ICU, so these exist.
      this.#strict = new TextDecoder(encoding, { fatal: true });
      this.#lenient = new TextDecoder(encoding, { fatal: false });
    }
  }

  /** Whether lines pass through untouched (UTF-8: the bytes are shipped as they are). */
  get passThrough(): boolean {
    return this.encoding === 'utf-8';
  }

  decode(bytes: Buffer): DecodedLine {
    if (this.encoding === 'utf-8') return { text: bytes.toString('utf8'), bytes, invalid: 0 };
    // Every offered encoding maps ASCII bytes to themselves: such a line is already UTF-8.
    if (isAscii(bytes)) return { text: bytes.toString('latin1'), bytes, invalid: 0 };
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
