import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { refusal, requestLineTooLong } from '../../src/api/clientError';

const LIMIT = 16 * 1024;
const b = (s: string) => Buffer.from(s, 'latin1');

describe('a request the HTTP parser refused', () => {
  it('an oversized head is 414 when its request line alone is over the limit, else 431', () => {
    const longLine = b(`GET /scrape?url=${'a'.repeat(LIMIT + 10)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const lineNotEnded = b(`GET /scrape?url=${'a'.repeat(LIMIT + 10)}`);
    const bigHeaders = b(`POST /scrape HTTP/1.1\r\nHost: x\r\nx-big: ${'b'.repeat(LIMIT)}\r\n`);
    assert.equal(requestLineTooLong(longLine, LIMIT), true);
    assert.equal(requestLineTooLong(lineNotEnded, LIMIT), true);
    assert.equal(requestLineTooLong(bigHeaders, LIMIT), false);
    // A packet from the middle of the head: no line end in it is taken for the URL still going.
    assert.equal(requestLineTooLong(b('a'.repeat(4096)), LIMIT), true);
    assert.equal(requestLineTooLong(b('bbb\r\nx-more: 1\r\n'), LIMIT), false);
    assert.equal(requestLineTooLong(undefined, LIMIT), false);
  });

  it('each parser failure has its code in the table, with the status it names', () => {
    const cases: Array<[{ code?: string; rawPacket?: Buffer }, string, number]> = [
      [{ code: 'HPE_HEADER_OVERFLOW', rawPacket: b(`GET /${'a'.repeat(LIMIT + 1)}`) }, 'ERR::API::URI_TOO_LONG', 414],
      [{ code: 'HPE_HEADER_OVERFLOW', rawPacket: b(`GET / HTTP/1.1\r\nx: ${'b'.repeat(LIMIT)}`) }, 'ERR::API::HEADERS_TOO_LARGE', 431],
      [{ code: 'HPE_CHUNK_EXTENSIONS_OVERFLOW' }, 'ERR::API::PAYLOAD_TOO_LARGE', 413],
      [{ code: 'ERR_HTTP_REQUEST_TIMEOUT' }, 'ERR::API::REQUEST_TIMEOUT', 408],
      [{ code: 'HPE_INVALID_HEADER_TOKEN' }, 'ERR::API::BAD_REQUEST', 400],
      [{}, 'ERR::API::BAD_REQUEST', 400],
    ];
    for (const [err, code, status] of cases) {
      const e = refusal(err, LIMIT);
      assert.deepEqual([e.code, e.httpCode], [code, status], String(err.code));
      assert.equal(e.toBody('id').http_code, status);
    }
  });
});
