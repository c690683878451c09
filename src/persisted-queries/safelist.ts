import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { AppError, ErrorCode } from '../shared/errors';

/**
 * Safelist mode: only operations listed in an Apollo persisted query manifest run
 * (`{ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id, body, name, type }] }`,
 * as written by @apollo/generate-persisted-query-manifest). Anything else is refused with
 * PERSISTED_QUERY_NOT_IN_SAFELIST (HTTP 400), whether sent as text or registered through APQ.
 */
export interface SafelistManifest {
  readonly format: 'apollo-persisted-query-manifest';
  readonly version: 1;
  readonly operations: ReadonlyArray<{ readonly id: string; readonly body: string; readonly name?: string; readonly type?: string }>;
}

export interface Safelist {
  /** sha256 hex of the body → body. */
  readonly operations: ReadonlyMap<string, string>;
}

export function loadSafelist(path: string): Safelist {
  const manifest = JSON.parse(fs.readFileSync(path, 'utf8')) as SafelistManifest;
  if (manifest.format !== 'apollo-persisted-query-manifest' || manifest.version !== 1 || !Array.isArray(manifest.operations)) {
    throw new Error(`${path} is not an Apollo persisted query manifest (format apollo-persisted-query-manifest, version 1)`);
  }
  const operations = new Map<string, string>();
  for (const op of manifest.operations) {
    const hash = createHash('sha256').update(op.body).digest('hex');
    // The id is the hash of the body by the manifest's own definition; a mismatch is a broken file.
    if (op.id !== hash) throw new Error(`${path}: operation ${op.name ?? op.id} has id ${op.id} but its body hashes to ${hash}`);
    operations.set(hash, op.body);
  }
  return { operations };
}

/**
 * The refusal for an operation outside the safelist, or null. The request pipeline checks it
 * first, once the operation is resolved (src/pipeline): errors raised there become the
 * response with their HTTP status, and nothing is priced or charged for a refused operation.
 */
export function safelistRefusal(safelist: Safelist, queryHash: string | undefined): AppError | null {
  if (queryHash && safelist.operations.has(queryHash)) return null;
  return new AppError(ErrorCode.PERSISTED_QUERY_NOT_IN_SAFELIST, 'This operation is not in the safelist of persisted queries', {
    http: { status: 400 },
  });
}
