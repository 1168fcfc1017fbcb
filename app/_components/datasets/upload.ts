/**
 * The CSV upload goes to the REST route (`POST /api/v1/projects/{projectId}/datasets`) as the raw
 * file, with the session cookie: tRPC would have to buffer it. XMLHttpRequest rather than fetch
 * because only it reports upload progress.
 */
import type { ColumnType } from './csv-sniff';

export type UploadedDataset = {
  dataset: { name: string; kind: 'source' | 'built'; rowCount: number; columns: { name: string; type: ColumnType; nullable: boolean }[] };
  rows: number;
  bytes: number;
  created: boolean;
};

export type UploadProgress =
  | { phase: 'sending'; loaded: number; total: number }
  /** Every byte is sent; the server is checking and loading the rows (COPY) before it answers. */
  | { phase: 'loading'; total: number };

/** What the server refused, with the line and column of the file when it names them. */
export class UploadError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly field: string | undefined,
    readonly line: number | undefined,
    readonly column: number | undefined,
    readonly columnName: string | undefined,
    /** What is wrong at that place: the message after its "line 3, column 5 (age): ". */
    readonly detail: string,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

/** "line 3, column 5 (age): ..." is how the server words a file's first problem (after a prefix). */
export function parseUploadError(status: number, body: unknown): UploadError {
  const err = (body as { error?: { code?: unknown; message?: unknown; field?: unknown } } | null)?.error;
  const message = typeof err?.message === 'string' ? err.message : status === 0 ? 'the upload failed: the server could not be reached' : `the upload failed (${status})`;
  const code = typeof err?.code === 'string' ? err.code : 'network';
  const field = typeof err?.field === 'string' ? err.field : undefined;
  // "The CSV was not loaded: line 3, column 2 (amount): missing value ..."
  const m = /(?:^|:\s*)line (\d+)(?:, column (\d+)(?: \(([^)]*)\))?)?: ([\s\S]*)$/.exec(message);
  if (!m) return new UploadError(message, status, code, field, undefined, undefined, undefined, message);
  return new UploadError(message, status, code, field, Number(m[1]), m[2] ? Number(m[2]) : undefined, m[3], m[4] ?? message);
}

export function uploadDatasetCsv({ projectId, name, environment = 'design', types, file, onProgress, signal }: {
  projectId: string;
  name: string;
  environment?: 'design' | 'production';
  /** Only the columns whose type should not be inferred. */
  types: Record<string, ColumnType>;
  file: Blob;
  onProgress: (p: UploadProgress) => void;
  signal?: AbortSignal;
}): Promise<UploadedDataset> {
  const query = new URLSearchParams({ name });
  if (environment !== 'design') query.set('environment', environment);
  const typeList = Object.entries(types).map(([column, type]) => `${column}:${type}`);
  if (typeList.length > 0) query.set('types', typeList.join(','));
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/projects/${encodeURIComponent(projectId)}/datasets?${query.toString()}`);
    xhr.setRequestHeader('content-type', 'text/csv');
    xhr.responseType = 'json';
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => {
      const total = e.lengthComputable ? e.total : file.size;
      onProgress(e.loaded >= total ? { phase: 'loading', total } : { phase: 'sending', loaded: e.loaded, total });
    };
    xhr.upload.onload = () => onProgress({ phase: 'loading', total: file.size });
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response as UploadedDataset);
      else reject(parseUploadError(xhr.status, xhr.response));
    };
    xhr.onerror = () => reject(parseUploadError(0, null));
    xhr.onabort = () => reject(new UploadError('the upload was cancelled', 0, 'aborted', undefined, undefined, undefined, undefined, 'the upload was cancelled'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    onProgress({ phase: 'sending', loaded: 0, total: file.size });
    xhr.send(file);
  });
}
