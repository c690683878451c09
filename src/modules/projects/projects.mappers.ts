import type { ProjectRow } from '../../db/schema';

export type ProjectParent = ProjectRow;
