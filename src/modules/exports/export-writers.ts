import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { columnByName, type ExportColumn } from './export-columns';

export type ExportFormat = 'CSV' | 'JSONL' | 'PARQUET';

/** One batch as read for its format: text lines (CSV, JSONL) or typed values per column (Parquet). */
export type ExportBatch = { kind: 'lines'; lines: string[] } | { kind: 'columns'; rows: Record<string, unknown>[] };

/** Streams batches into `sink`: nothing is held beyond the batch being written. */
export interface BatchWriter {
  write(batch: ExportBatch): Promise<void>;
  /** Trailer (Parquet footer); does not end the sink. */
  finish(): Promise<void>;
}

/** Writes with backpressure: waits for 'drain' when the sink's buffer is full. */
export async function writeChunk(sink: Writable, chunk: Uint8Array | string): Promise<void> {
  if (!sink.write(chunk)) {
    await Promise.race([once(sink, 'drain'), once(sink, 'close').then(() => {
      throw new Error('the export sink closed while writing');
    })]);
  }
}

export function createBatchWriter(format: ExportFormat, columnNames: readonly string[], sink: Writable): BatchWriter {
  const columns = columnNames.map((n) => columnByName(n) as ExportColumn);
  if (format === 'PARQUET') return parquetWriter(columns, sink);
  let started = false;
  const eol = format === 'CSV' ? '\r\n' : '\n';
  return {
    async write(batch) {
      if (batch.kind !== 'lines') throw new Error('text formats take lines');
      let text = '';
      if (!started && format === 'CSV') text = header(columns) + eol;
      started = true;
      if (batch.lines.length) text += batch.lines.join(eol) + eol;
      if (text) await writeChunk(sink, text);
    },
    async finish() {
      // An export with no rows is still a valid CSV: its header alone.
      if (!started && format === 'CSV') await writeChunk(sink, header(columns) + eol);
    },
  };
}

/** RFC 4180 header: the names are plain identifiers, no quoting needed. */
const header = (columns: readonly ExportColumn[]) => columns.map((c) => c.name).join(',');

/**
 * hyparquet-writer's incremental ParquetWriter: one row group per batch, each flushed to the
 * sink as soon as it is encoded (the footer with the row-group index comes at the end).
 */
function parquetWriter(columns: readonly ExportColumn[], sink: Writable): BatchWriter {
  const bytes = new StreamingByteWriter(sink);
  const schema: SchemaElement[] = [
    { name: 'root', num_children: columns.length },
    ...columns.map((c) => ({ name: c.name, ...c.parquetType }) as SchemaElement),
  ];
  const writer = new ParquetWriter({ writer: bytes, schema, kvMetadata: [{ key: 'created_by_app', value: 'analytics-gateway export' }] });
  return {
    async write(batch) {
      if (batch.kind !== 'columns') throw new Error('parquet takes typed rows');
      if (!batch.rows.length) return;
      const columnData = columns.map((c) => {
        const key = `p_${c.name}`;
        const convert = c.toParquet;
        return { name: c.name, data: batch.rows.map((r) => (convert ? convert(r[key]) : r[key])) };
      });
      await writer.write({ columnData: columnData as never, rowGroupSize: batch.rows.length });
      await bytes.drained();
    },
    async finish() {
      await writer.finish();
      await bytes.drained();
    },
  };
}

/** A ByteWriter that hands its bytes to a stream at every flush and starts over (bounded memory). */
class StreamingByteWriter extends ByteWriter {
  private pending: Promise<void> = Promise.resolve();
  constructor(private readonly sink: Writable) {
    super(1 << 20);
  }
  flush(): Promise<void> {
    if (this.index === 0) return this.pending;
    // A copy: the buffer is reused for the next row group while the sink may still hold this one.
    const chunk = new Uint8Array(this.buffer.slice(0, this.index));
    this.index = 0;
    this.pending = this.pending.then(() => writeChunk(this.sink, chunk));
    return this.pending;
  }
  override finish(): Promise<void> {
    return this.flush();
  }
  drained(): Promise<void> {
    return this.pending;
  }
}
