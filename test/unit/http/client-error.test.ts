import { answerClientErrorsInJson, clientErrorResponse } from '../../../src/http/client-error';
import { rawExchange, serve } from './serve';

describe('client errors answered in JSON', () => {
  it('431 with the limit for over-long headers, 400 for garbage; both close the connection', async () => {
    const s = await serve((_req, res) => res.end('never'), { maxHeaderSize: 1024 });
    answerClientErrorsInJson(s.server, 1024);
    try {
      const long = await rawExchange(s.port, [`GET / HTTP/1.1\r\nhost: x\r\nx-long: ${'a'.repeat(2000)}\r\n\r\n`]);
      expect(long).toMatch(/^HTTP\/1.1 431 Request Header Fields Too Large\r\n/);
      expect(long).toContain('connection: close');
      expect(JSON.parse(long.split('\r\n\r\n')[1]!)).toEqual({ errors: [{ message: 'Request line and headers exceed 1024 bytes', extensions: { code: 'BAD_REQUEST', limit: 1024 } }] });
      const garbage = await rawExchange(s.port, ['\x00\x01 nonsense\r\n\r\n']);
      expect(garbage).toMatch(/^HTTP\/1.1 400 Bad Request\r\n/);
      expect(JSON.parse(garbage.split('\r\n\r\n')[1]!).errors[0].extensions.code).toBe('BAD_REQUEST');
    } finally {
      await s.close();
    }
  });

  it('sets a content-length that matches the body', () => {
    const text = clientErrorResponse(Object.assign(new Error('x'), { code: 'HPE_INVALID_METHOD' }), 16384);
    const [head = '', body = ''] = text.split('\r\n\r\n');
    expect(Number(/content-length: (\d+)/.exec(head)![1])).toBe(Buffer.byteLength(body));
  });
});
