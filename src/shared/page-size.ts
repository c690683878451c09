/**
 * The largest page a connection serves (`first`). Kept dependency-free so that pricing (and the
 * cost CLI's bundle) need not load the traces module and its database layer; the traces
 * service declares the same bound and a unit test holds the two equal.
 */
export const MAX_PAGE_SIZE = 1000;
