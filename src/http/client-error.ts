import type http from 'node:http';
import { ErrorCode } from '../shared/errors';
import { errorBody } from './respond';

/** Answers for requests Node's parser refuses before any handler runs (over-long headers, garbage). */
export function clientErrorResponse(err: NodeJS.ErrnoException, maxHeaderBytes: number): string {
  const overflow = err.code === 'HPE_HEADER_OVERFLOW';
  const [status, reason, message] = overflow
    ? [431, 'Request Header Fields Too Large', `Request line and headers exceed ${maxHeaderBytes} bytes`]
    : [400, 'Bad Request', 'Malformed HTTP request'];
  const body = JSON.stringify(errorBody(message, ErrorCode.BAD_REQUEST, overflow ? { limit: maxHeaderBytes } : {}));
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/** Node's own answer to a parse error is a bare status line; clients get JSON like everywhere else. */
export function answerClientErrorsInJson(server: http.Server, maxHeaderBytes: number): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(err, maxHeaderBytes));
  });
}
