import { badInput } from '../shared/errors';

/**
 * W3C Trace Context trace ids (https://www.w3.org/TR/trace-context/#trace-id): 16 bytes as 32
 * hex characters, not all zeros. They are stored lower-case (OTLP ingestion and the seeder
 * write them so); callers may give either case.
 */
const TRACE_ID = /^[0-9a-f]{32}$/i;
const ALL_ZEROS = /^0{32}$/;

export const looksLikeW3cTraceId = (text: string): boolean => TRACE_ID.test(text);

/** The stored form of a W3C trace id, or a coded BAD_USER_INPUT naming the argument. */
export function w3cTraceId(text: string, argument: string): string {
  if (!TRACE_ID.test(text)) {
    throw badInput(`${argument} must be a W3C trace id: 32 hexadecimal characters`, { argument });
  }
  if (ALL_ZEROS.test(text)) throw badInput(`${argument} is the all-zero trace id, which W3C Trace Context declares invalid`, { argument });
  return text.toLowerCase();
}
