/**
 * The largest page a connection serves (`first`/`last`): the one definition that pricing
 * (src/limits/cost-rules.ts), page arguments (page-args.ts) and the traces service use. Kept
 * dependency-free so that pricing (and the cost CLI's bundle) need not load a module.
 */
export const MAX_PAGE_SIZE = 1000;
