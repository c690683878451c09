import type { Kysely } from 'kysely';
import { withTimedRead, type DatabaseHandle, type QueryClass } from './database';
import type { Database } from './schema';

/** A read on the read handle under the statement timeout of its class (what services use). */
export type TimedRead = <T>(fn: (db: Kysely<Database>) => Promise<T>) => Promise<T>;

/** Loaders get these instead of the raw read handle, so a batch cannot run without a timeout. */
export function timedRead(database: Pick<DatabaseHandle, 'statementTimeoutMs' | 'readDb' | 'readBatch'>, queryClass: QueryClass): TimedRead {
  return (fn) => withTimedRead(database, queryClass, fn);
}
