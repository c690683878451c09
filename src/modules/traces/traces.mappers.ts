import type { Scope } from '../../auth/viewer';
import type { TraceRow } from '../../db/schema';
import type { TraceFilter } from './traces.repository';

/** GraphQL Trace parents are plain rows; field resolvers convert units and names. */
export type TraceParent = TraceRow;

/** What `totalCount` needs to run its COUNT lazily, only when the field is selected. */
export interface TraceConnectionParent {
  readonly rows: readonly (TraceRow & { cursor: string })[];
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
  readonly scope: Scope;
  readonly filter: TraceFilter;
  /** searchTraces' terms (ANDed). */
  readonly search?: readonly string[];
}
