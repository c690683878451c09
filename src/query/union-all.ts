import { sql, type RawBuilder } from 'kysely';

/** Statements of the same shape as one `a UNION ALL b UNION ALL …` (one branch per source piece). */
export const unionAll = <T>(parts: readonly RawBuilder<T>[]): RawBuilder<T> => sql.join([...parts], sql` UNION ALL `) as RawBuilder<T>;
