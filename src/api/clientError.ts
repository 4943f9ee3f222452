import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { AppError, type ErrorCode } from '../errors';
import type { Logger } from '../logger';

/** How long an answered socket may keep sending (the rest of an oversized head) before it is dropped. */
const DRAIN_MS = 2_000;

/**
 * Requests Node's HTTP parser refuses before Koa sees them: a head over
 * maxHeaderSize, a malformed request, a head or body that never arrives in
 * time. Node's own answer is a bare status line, or none; these get the one
 * error shape instead, so a client (the Scrapfly SDK reads `error_id`) sees
 * the code. The answer says `Connection: close` and the socket is half-closed,
 * then read to its end: closing it with the rest of a 70 KB request line
 * still unread would reset the connection, and the client could lose the
 * answer to the reset.
 */
export function answerClientErrors(server: http.Server, logger: Logger): void {
  const answered = new WeakSet<Socket>();
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
    // The parser stays failed: every further chunk of the same head raises this again.
    if (answered.has(socket)) return;
    answered.add(socket);
    // As Node's own handler decides: a response already under way on this socket cannot be followed by ours.
    const inFlight = (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    // The server is made without its own maxHeaderSize: the process-wide one (--max-http-header-size) applies.
    const limit = http.maxHeaderSize;
    const error = refusal(err, limit);
    const errorId = randomUUID();
    const requestId = randomUUID();
    const body = JSON.stringify(error.toBody(errorId));
    // Without the request line: it may hold a key.
    logger.info({ error_id: errorId, code: error.code, http_code: error.httpCode, parser: err.code, requestId }, 'request refused');
    socket.end(
      [
        `HTTP/1.1 ${error.httpCode} ${http.STATUS_CODES[error.httpCode] ?? 'Error'}`,
        // Exactly application/json, as every error document (the Scrapfly SDK compares it verbatim).
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        `X-Request-Id: ${requestId}`,
        'Connection: close',
        '',
        body,
      ].join('\r\n'),
    );
    // Read whatever is still coming (socket.end() leaves the reading side open), then let go.
    socket.resume();
    setTimeout(() => socket.destroy(), DRAIN_MS).unref();
  });
}

/** The error a parser failure is answered with. */
export function refusal(err: { code?: string; rawPacket?: Buffer }, maxHeaderSize: number): AppError {
  const e = (code: ErrorCode, message: string) => new AppError(code, message);
  switch (err.code ?? '') {
    case 'HPE_HEADER_OVERFLOW':
      return requestLineTooLong(err.rawPacket, maxHeaderSize)
        ? e('ERR::API::URI_TOO_LONG', `the request line is longer than the ${maxHeaderSize} bytes the server reads: shorten the URL`)
        : e(
            'ERR::API::HEADERS_TOO_LARGE',
            `the request's head (its request line and header fields) is larger than the ${maxHeaderSize} bytes the server reads`,
          );
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return e('ERR::API::PAYLOAD_TOO_LARGE', 'chunk extensions of the request body are too large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return e('ERR::API::REQUEST_TIMEOUT', 'the request did not arrive in time');
    default:
      return e('ERR::API::BAD_REQUEST', `malformed HTTP request (${err.code ?? 'unknown'})`);
  }
}

/**
 * Whether an oversized head is so because of its request line, as far as the
 * packet that overflowed shows (Node hands over that packet only). One that
 * starts the request shows where its line ends. A later one (a head that came
 * in several reads) shows only whether a line ended in it; none is taken for
 * the request line still going, as a URL is what grows that long far more
 * often than one header field.
 */
export function requestLineTooLong(packet: Buffer | undefined, maxHeaderSize: number): boolean {
  if (!packet) return false;
  const lineEnd = packet.indexOf('\r\n');
  if (/^[A-Z]+ /.test(packet.subarray(0, 24).toString('latin1'))) return lineEnd === -1 || lineEnd > maxHeaderSize;
  return lineEnd === -1;
}
