/**
 * The one error type the data layer throws for bad input: a missing, truncated or corrupt file,
 * a wrong magic number, a label out of range, an empty class folder, an undecodable image.
 *
 * The message always starts with the file (or folder) at fault and says what was expected;
 * for binary formats it gives the byte offset or the expected size.
 */
export class DataFormatError extends Error {
  override readonly name = "DataFormatError";
  /** The file or folder at fault. */
  readonly file: string;
  /** Byte offset of the problem inside `file`, when it is a binary format and the offset is known. */
  readonly offset: number | undefined;

  constructor(file: string, message: string, options: { offset?: number; cause?: unknown } = {}) {
    const at = options.offset === undefined ? "" : ` (at byte offset ${options.offset})`;
    super(`${file}: ${message}${at}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.file = file;
    this.offset = options.offset;
  }
}

/** Runs `fn` and turns a Node file-system error (ENOENT, EACCES, EISDIR, ...) into a DataFormatError. */
export async function withFileErrors<T>(file: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asFileError(err, file, what);
  }
}

/** Maps a file-system error to a DataFormatError that names the file and what it should hold. */
export function asFileError(err: unknown, file: string, what: string): unknown {
  if (err instanceof DataFormatError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT") return new DataFormatError(file, `missing file; expected ${what}`, { cause: err });
  if (code === "EACCES" || code === "EPERM") return new DataFormatError(file, `cannot read (permission denied); expected ${what}`, { cause: err });
  if (code === "EISDIR") return new DataFormatError(file, `is a directory; expected ${what}`, { cause: err });
  return err;
}
