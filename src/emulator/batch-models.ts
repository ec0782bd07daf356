// Batch-aware emulated containers: many records in one request, one answer item per record.
// - `lines-echo`: one JSON line per request line, `{"echo":<line>}` (the line as written when it is
//   JSON, else as a string), content type application/jsonlines.
// - `json-echo`: the request's JSON array (or `{"instances":[...]}`) answered as an array of
//   `{"echo":<element>}` (or `{"predictions":[...]}`), each element exactly as written.
// A request holding `__poison` fails whole (ModelError, as a real container failing on one bad
// record would); an endpoint's `batchMismatch` drops the answer's last item.

export type BatchModelName = 'lines-echo' | 'json-echo';
export const BATCH_MODEL_NAMES: readonly BatchModelName[] = ['lines-echo', 'json-echo'];

export const POISON = '__poison';

export function isBatchModel(name: string): name is BatchModelName {
  return (BATCH_MODEL_NAMES as readonly string[]).includes(name);
}

/** The request's lines (a final newline does not start another). */
function requestLines(body: Buffer): string[] {
  const text = body.toString('utf8');
  const lines = text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * The top-level items of a JSON array or object text, each as written (whitespace around trimmed):
 * an array's elements, or an object's members as [key text, value text].
 */
export function topLevelItems(text: string): string[] | undefined {
  const t = text.trim();
  const open = t[0];
  if ((open !== '[' && open !== '{') || t[t.length - 1] !== (open === '[' ? ']' : '}')) return undefined;
  const inner = t.slice(1, -1);
  if (inner.trim() === '') return [];
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(inner.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(inner.slice(start).trim());
  return out;
}

/** The records of a json-echo request: its array's elements, and whether they came as `instances`. */
function jsonRecords(body: Buffer): { items: string[]; instances: boolean } | undefined {
  const text = body.toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (Array.isArray(doc)) {
    const items = topLevelItems(text);
    return items && { items, instances: false };
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as Record<string, unknown>).instances)) return undefined;
  for (const member of topLevelItems(text) ?? []) {
    const m = /^"instances"\s*:\s*([\s\S]*)$/.exec(member);
    if (m) {
      const items = topLevelItems(m[1]!);
      return items && { items, instances: true };
    }
  }
  return undefined;
}

/** How many records a request holds, as the model reads it (the cost model's n); 1 for other models. */
export function recordCount(model: string, body: Buffer): number {
  if (model === 'lines-echo') return requestLines(body).length;
  if (model === 'json-echo') return jsonRecords(body)?.items.length ?? 1;
  return 1;
}

export function isPoisoned(body: Buffer): boolean {
  return body.includes(POISON);
}

export interface BatchModelOutput {
  contentType: string;
  body: Buffer;
}

/** The answer of a batch model; `dropLast` (the endpoint's batchMismatch) leaves out the last item. */
/** Why the container fails the whole request (a poisoned record, a body it cannot read), or undefined. */
export function batchModelError(model: BatchModelName, body: Buffer): string | undefined {
  if (isPoisoned(body)) return `poisoned record in a batch of ${recordCount(model, body)}`;
  if (model === 'json-echo' && jsonRecords(body) === undefined) return 'json-echo expects a JSON array or {"instances": [...]}';
  return undefined;
}

/** The answer of a batch model (a request batchModelError passed); `dropLast` (the endpoint's batchMismatch) leaves out the last item. */
export function runBatchModel(model: BatchModelName, body: Buffer, dropLast: boolean): BatchModelOutput {
  if (model === 'lines-echo') {
    const lines = requestLines(body).map((line) => {
      try {
        JSON.parse(line);
        return `{"echo":${line.trim()}}`;
      } catch {
        return `{"echo":${JSON.stringify(line)}}`;
      }
    });
    if (dropLast) lines.pop();
    return { contentType: 'application/jsonlines', body: Buffer.from(lines.map((l) => l + '\n').join('')) };
  }
  const req = jsonRecords(body) ?? { items: [], instances: false };
  const items = req.items.map((e) => `{"echo":${e}}`);
  if (dropLast) items.pop();
  const array = `[${items.join(',')}]`;
  return { contentType: 'application/json', body: Buffer.from(req.instances ? `{"predictions":${array}}` : array) };
}
