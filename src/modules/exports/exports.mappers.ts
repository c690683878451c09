import type { ExportJobRow } from './exports.repository';

export type ExportJobParent = ExportJobRow;

export interface ExportJobConnectionParent {
  readonly page: readonly { row: ExportJobRow; cursor: string }[];
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
}
