import net from 'node:net';

/** The port is taken (EADDRINUSE) or may not be bound (EACCES): one line for the operator. */
export class PortUnavailableError extends Error {
  constructor(
    readonly what: string,
    readonly host: string,
    readonly port: number,
    readonly code: string,
  ) {
    super(
      code === 'EADDRINUSE'
        ? `${what} port ${port} on ${host} is already in use (another gateway, or another program): stop it, or set ${what === 'metrics' ? 'METRICS_PORT' : 'PORT'} to a free port`
        : `${what} port ${port} on ${host} cannot be bound (${code}): choose another ${what === 'metrics' ? 'METRICS_PORT' : 'PORT'}`,
    );
    this.name = 'PortUnavailableError';
  }
}

const asPortError = (err: unknown, what: string, host: string, port: number): unknown => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EADDRINUSE' || code === 'EACCES' ? new PortUnavailableError(what, host, port, code) : err;
};

/**
 * Binds and releases the port at once, before anything slow (opening the database, migrations,
 * demo data) runs: a port in use fails the start in milliseconds, not after them. Port 0 (any
 * free port) needs no check.
 */
export async function assertPortFree(port: number, host: string, what = 'HTTP'): Promise<void> {
  if (port === 0) return;
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (err) => reject(asPortError(err, what, host, port)));
    probe.listen({ port, host, exclusive: true }, () => resolve());
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

/** server.listen as a promise; EADDRINUSE/EACCES become PortUnavailableError. */
export function listen(server: net.Server, port: number, host: string, what = 'HTTP'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(asPortError(err, what, host, port));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
