import { gunzipSync } from 'node:zlib';
import { gql } from './gateway';

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF inside quotes); unquoted empty → null. */
export function parseCsv(text: string): (string | null)[][] {
  const rows: (string | null)[][] = [];
  let row: (string | null)[] = [];
  let i = 0;
  while (i < text.length) {
    let value: string | null;
    if (text[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quoted field');
        v += text.slice(i, q);
        if (text[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      value = v;
    } else {
      let j = i;
      while (j < text.length && text[j] !== ',' && text[j] !== '\r' && text[j] !== '\n') j++;
      value = j === i ? null : text.slice(i, j);
      i = j;
    }
    row.push(value);
    if (text[i] === ',') {
      i++;
    } else if (text.startsWith('\r\n', i)) {
      rows.push(row);
      row = [];
      i += 2;
    } else if (i >= text.length) {
      rows.push(row);
    } else {
      throw new Error(`unexpected character ${JSON.stringify(text[i])} at ${i}`);
    }
  }
  return rows;
}

export const maybeGunzip = (b: Buffer) => (b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b);

export async function waitForExport(url: string, key: string, id: string, until: (s: string) => boolean = (s) => !['PENDING', 'RUNNING'].includes(s), timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await gql(url, key, `query($id: ID!) { exportJob(id: $id) { id status columns rowCount bytes error attempts downloadUrl location expiresAt startedAt finishedAt progress { rowsWritten rowsTotal } } }`, { id });
    const job = r.body.data?.exportJob;
    if (job && until(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`export ${id} still ${job?.status} after ${timeoutMs} ms: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
