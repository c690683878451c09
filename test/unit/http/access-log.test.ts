import pino from 'pino';
import { Writable } from 'node:stream';
import { createRequestRecorder, type AccessLogLevel } from '../../../src/http/access-log';
import { serve } from './serve';

/** A pino logger at `level` whose lines land in `lines`. */
function capture(level: string) {
  const lines: any[] = [];
  const stream = new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(chunk.toString())), cb()) });
  return { logger: pino({ level }, stream), lines };
}

/** One request through a server whose 'close' handler calls the recorder, as the gateway does. */
async function oneRequest(level: AccessLogLevel, loggerLevel: string, endpoint: string, path = '/x') {
  const { logger, lines } = capture(loggerLevel);
  const record = createRequestRecorder({ logger, metrics: false, level });
  let closed!: () => void;
  const done = new Promise<void>((r) => (closed = r));
  const s = await serve((req, res) => {
    const started = performance.now();
    res.on('close', () => (record({ req, res, endpoint, requestId: 'rid', started, traceId: 'tid' }), closed()));
    res.setHeader('content-length', 2);
    res.writeHead(201);
    res.end('ok');
  });
  try {
    await (await fetch(`${s.base}${path}`, { method: 'POST', body: 'abcd' })).text();
    await done;
  } finally {
    await s.close();
  }
  return lines;
}

describe('access log', () => {
  it('writes one line per GraphQL request at the configured level, with sizes, status and ids', async () => {
    const lines = await oneRequest('info', 'info', '/graphql');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, msg: 'request', requestId: 'rid', traceId: 'tid', method: 'POST', path: '/graphql', status: 201, requestBytes: 4, responseBytes: 2 });
    expect(typeof lines[0].durationMs).toBe('number');
  });

  it('logs probes and scrapes at debug only', async () => {
    expect(await oneRequest('info', 'info', '/health/ready')).toHaveLength(0);
    expect(await oneRequest('info', 'debug', '/health/ready')).toMatchObject([{ level: 20, path: '/health/ready' }]);
  });

  it('leaves the path out for unknown routes ("other"), and logs nothing when silent', async () => {
    const [line] = await oneRequest('info', 'info', 'other', '/secret-token-in-path');
    expect(line.path).toBeUndefined();
    expect(await oneRequest('silent', 'debug', '/graphql')).toHaveLength(0);
  });

  it('does not log at debug when the logger is at info', async () => {
    expect(await oneRequest('debug', 'info', '/graphql')).toHaveLength(0);
  });
});
