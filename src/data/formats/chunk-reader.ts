import { DataFormatError } from "../errors.js";

/**
 * Pulls exact byte counts out of a stream of chunks (a file stream or an inflate stream) without
 * gathering the whole stream: small reads are copied, large ones are handed over piece by piece.
 */
export class ChunkReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  /** Bytes consumed so far. */
  consumed = 0;

  /**
   * @param source the chunks
   * @param file the file named in errors
   * @param where says where a given consumed-byte count lies in `file`, for error messages
   */
  constructor(
    private readonly source: AsyncIterator<Uint8Array>,
    private readonly file: string,
    private readonly where: (consumed: number) => { offset?: number; text: string },
  ) {}

  /** Throws a DataFormatError located at the current position. */
  fail(message: string): never {
    const at = this.where(this.consumed);
    throw new DataFormatError(this.file, `${message}${at.text}`, { offset: at.offset });
  }

  private async ensure(what: string, needed: number): Promise<void> {
    while (this.pos >= this.chunk.length) {
      const next = await this.source.next();
      if (next.done) this.fail(`truncated: ${needed} more byte(s) expected for ${what}, the data ends`);
      this.chunk = next.value;
      this.pos = 0;
    }
  }

  /** The next `n` bytes as a new array. */
  async read(n: number, what: string): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    await this.pipe(n, what, (piece, offset) => out.set(piece, offset));
    return out;
  }

  /** Hands the next `n` bytes to `onPiece` in order, as views valid only during the call. */
  async pipe(n: number, what: string, onPiece: (piece: Uint8Array, offset: number) => void): Promise<void> {
    let done = 0;
    while (done < n) {
      await this.ensure(what, n - done);
      const take = Math.min(n - done, this.chunk.length - this.pos);
      onPiece(this.chunk.subarray(this.pos, this.pos + take), done);
      this.pos += take;
      this.consumed += take;
      done += take;
    }
  }

  /** Skips the next `n` bytes. */
  async skip(n: number, what: string): Promise<void> {
    await this.pipe(n, what, () => {});
  }
}
