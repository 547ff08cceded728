/**
 * `ingestFile()`: add the objects of a JSONL file to a namespace with `dataWriter()` (batched
 * `POST /v1/data/{namespace}`), resumably. The position in the file up to which the API has
 * accepted every object, in input order, is saved beside the file (`<file>.ingest-state.json`,
 * keyed to the file's identity and the namespace) as batches are acknowledged; running the same
 * ingest again reads the file from there, so what was acknowledged is never sent twice. At most
 * the batches in flight at a crash (and those acknowledged after the last save) are sent again.
 * A lock beside the state keeps two runs of the same ingest from working at once.
 */
import { pipeline } from 'node:stream/promises';
import { ConfigError, JsonlError } from '../core/errors.js';
import { isDescriptorPath, readFileIdentity } from '../core/file-identity.js';
import { readJsonlFrom, type LinePosition, type PositionedText } from '../core/jsonl-positions.js';
import { notAnObject } from '../core/json-input.js';
import { DEFAULT_MAX_LINE_BYTES } from '../core/jsonl.js';
import { acquireLock } from '../core/lock-file.js';
import { integerOption, stringOption } from '../core/options.js';
import { resolveSafetykit } from './config.js';
import { DEFAULT_MAX_BATCH_BYTES, dataWriter, objectSizeProblem, type DataAcknowledgedEvent, type DataRequestEvent, type DataWriterOptions, type DataWriterStats, type DataWriterSummary } from './data-writer.js';
import { objectProblem } from './errors.js';
import { IngestStateFile, type IngestState } from './ingest-state.js';

/** Options of {@link ingestFile}: those of `dataWriter()` (`acknowledgeInOrder` is always on), and the file. */
export interface IngestFileOptions extends DataWriterOptions {
  /** The JSONL file to ingest: a regular file (not a pipe, a device, or a path under `/dev` or `/proc`). Required. */
  file: string;
  /** Where the resume state is kept (and its lock, this path + `.lock`). Default `file + '.ingest-state.json'`. */
  stateFile?: string;
  /** Longest input line accepted, in bytes. Default 16 MiB. */
  maxLineBytes?: number;
  /** Name of the input shown in errors (`listings.jsonl:7`). Default the `file` option. */
  source?: string;
  /** Called before the first request when an earlier run's position is resumed (not when it starts from the beginning). Default none. */
  onResume?: (from: LinePosition) => void;
  /** Called for each batch the API accepted. Default none. */
  onRequest?: (event: DataRequestEvent) => void;
  /** Called with the writer's counters as batches complete, and at the end. Default none. */
  onProgress?: (stats: DataWriterStats) => void;
}

/** What an {@link ingestFile} run did: the counts are this run's; `totalObjects` covers earlier runs too. */
export interface IngestFileSummary extends DataWriterSummary {
  /** True when an earlier run's state was found and resumed. */
  resumed: boolean;
  /** Where this run started reading (line 0, offset 0 for a fresh run). */
  resumedFrom: LinePosition;
  /** Where the state now stands: the end of the file's last object. */
  position: LinePosition;
  /** Objects accepted over every run of this ingest. */
  totalObjects: number;
  /** The state file (kept after the ingest, so that running it again sends nothing). */
  stateFile: string;
}

/**
 * Add the objects of the JSONL file `file` to `namespace`, resumably; resolves once every object
 * was accepted. A bad line (not JSON, no string `id`, too large) stops the run after the objects
 * before it are added (`JsonlError` naming the line), unless `onInvalid: 'skip'`. Throws
 * `LockedError` while another run of the same ingest (same state file) is under way, and a
 * `ConfigError` of `file` when the file is not the one its state records, of `namespace` when the
 * state records another namespace.
 */
export async function ingestFile(options: IngestFileOptions): Promise<IngestFileSummary> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object with at least namespace and file');
  const file = stringOption('file', options.file, true);
  for (const name of ['onResume', 'onRequest', 'onProgress'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new ConfigError(name, 'must be a function', options[name]);
  }
  const { namespace, signal } = resolveSafetykit(options);
  const source = stringOption('source', options.source) ?? file;
  const maxLineBytes = integerOption('maxLineBytes', options.maxLineBytes, DEFAULT_MAX_LINE_BYTES, 1, 1024 * 1024 * 1024);
  const stateFile = new IngestStateFile(stringOption('stateFile', options.stateFile) ?? `${file}.ingest-state.json`);
  // Every option is checked here, before the lock and the first request.
  // In order: a kill then costs at most the `concurrency` batches sent after the saved position.
  const writer = dataWriter({ ...options, acknowledgeInOrder: true });

  const { isFile, ...identity } = await readFileIdentity(file);
  if (!isFile || isDescriptorPath(file)) throw new ConfigError('file', 'must be a regular file, not a pipe or device (stream anything else into dataWriter(), which cannot resume)', file);
  // Before the state is read: a second run must not resume from what the first one is changing.
  const lock = await acquireLock(`${stateFile.path}.lock`, `An ingest of ${file} (state ${stateFile.path})`);
  try {
    const { state, resumed } = await stateFile.open(file, identity, namespace);
    const resumedFrom = { ...state.position };
    if (resumed && resumedFrom.line > 0) options.onResume?.({ ...resumedFrom });
    const objectsBefore = state.objects;
    const saver = new StateSaver(stateFile, state, (error) => writer.destroy(error));
    writer.on('acknowledged', (event: DataAcknowledgedEvent) => {
      state.position = event.position;
      state.objects = objectsBefore + event.objects;
      saver.save();
    });
    if (options.onRequest) writer.on('request', options.onRequest);
    if (options.onProgress) {
      const onProgress = options.onProgress;
      writer.on('progress', (stats: DataWriterStats) => onProgress(stats));
    }
    const checkLine = options.onInvalid === 'skip' ? undefined : (item: PositionedText) => notAnObject(item.value) ?? objectProblem(item.value) ?? objectSizeProblem(item.text, options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES);
    // A bad line ends the input cleanly, so the writer finishes and every object before it is added.
    let badLine: Error | undefined;
    async function* lines(): AsyncGenerator<PositionedText> {
      try {
        for await (const item of readJsonlFrom(file, { from: resumedFrom, source, maxLineBytes, signal })) {
          const problem = checkLine?.(item);
          if (problem !== undefined) throw new JsonlError(item.after.line, problem, item.text, { source });
          yield item;
        }
      } catch (error) {
        badLine = error as Error;
      }
    }
    try {
      await pipeline(lines, writer, ...(signal ? [{ signal }] : []));
      if (badLine) throw badLine;
      state.finished = true;
      saver.save();
    } finally {
      // What was acknowledged is saved whatever ended the run (an error, an abort on SIGINT).
      await saver.flush();
    }
    return { ...writer.summary!, resumed, resumedFrom, position: { ...state.position }, totalObjects: state.objects, stateFile: stateFile.path };
  } finally {
    await lock.release();
  }
}

/**
 * Saves the state as it moves, one save at a time: a move during a save is written by one more
 * save after it (which takes the latest state), so saves never queue up behind a fast server.
 */
class StateSaver {
  private saving: Promise<void> = Promise.resolve();
  private queued = false;
  private failure: Error | undefined;

  constructor(
    private readonly file: IngestStateFile,
    private readonly state: IngestState,
    private readonly onFailure: (error: Error) => void,
  ) {}

  save(): void {
    if (this.queued || this.failure) return;
    this.queued = true;
    this.saving = this.saving.then(async () => {
      this.queued = false;
      try {
        await this.file.save(this.state);
      } catch (error) {
        this.failure = error as Error;
        this.onFailure(this.failure);
      }
    });
  }

  /** Wait for the saves under way; throws the first save's failure. */
  async flush(): Promise<void> {
    await this.saving;
    if (this.failure) throw this.failure;
  }
}
