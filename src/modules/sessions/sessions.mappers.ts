/** A session is an aggregate over the traces sharing a session id. */
export interface SessionParent {
  session_id: string;
  user_id: string | null;
  /** The main project: most traces, ties to the earliest first trace, then the smaller id. */
  project_id: string;
  /** Every project with traces of the session (visible to the caller), sorted. */
  project_ids: string[];
  trace_count: number;
  first_seen: Date;
  last_seen: Date;
  total_cost: number;
  total_tokens: number;
  error_count: number;
  /** Cursor text of last_seen (microseconds kept). */
  last_key: string;
}
