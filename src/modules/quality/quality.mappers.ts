import type { ScoreRow } from '../../db/schema';

export type ScoreParent = ScoreRow;
