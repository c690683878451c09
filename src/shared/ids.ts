const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID in its text form (any version, either case): row ids, export job ids, key ids. */
export const isUuid = (s: string): boolean => UUID.test(s);
