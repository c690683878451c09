// Moved to src/query/source-plan.ts (shared query building blocks); kept so that src/limits' imports still resolve.
export * from '../../query/source-plan';
