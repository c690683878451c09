// Moved to src/query/intervals.ts (shared query building blocks); kept so that src/limits' imports still resolve.
export * from '../../query/intervals';
