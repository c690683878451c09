/**
 * Label values must come from a bounded set, or one client sending random operation names
 * would grow the registry (and every Prometheus series) without limit.
 */

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Admits names that look like identifiers, at most `maxLength` long, and at most `maxDistinct`
 * of them over the process lifetime; anything else becomes `overflow`.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(
    private readonly maxDistinct = 200,
    private readonly maxLength = 64,
    private readonly overflow = 'other',
  ) {}

  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (value.length > this.maxLength || !NAME.test(value) || this.seen.size >= this.maxDistinct) return this.overflow;
    this.seen.add(value);
    return value;
  }
}

/** The route label of an HTTP request: known paths only. */
export function endpointOf(pathname: string): string {
  switch (pathname) {
    case '/graphql':
    case '/health/live':
    case '/health/ready':
    case '/metrics':
    case '/v1/traces':
      return pathname;
    default:
      return 'other';
  }
}
