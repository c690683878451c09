// Moved to src/query/calendar-buckets.ts (shared query building blocks); kept so that src/limits' imports still resolve.
export * from '../../query/calendar-buckets';
