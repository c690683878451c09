// Moved to src/query/dimensions.ts (shared query building blocks); kept so that src/limits' imports still resolve.
export * from '../../query/dimensions';
