/** An error that becomes an HTTP response: a status, `{"error": message}` and optional headers. */
export class HttpError extends Error {
  constructor(readonly statusCode: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
  }
}

/** 400 Bad Request. */
export const badRequest = (message: string): HttpError => new HttpError(400, message);
