/**
 * The Parquet destination and `parquetWriter()`, written by DuckDB's own `COPY … TO (FORMAT
 * parquet)` (the optional peer `@duckdb/node-api`). Typed columns: TIMESTAMP (UTC, µs),
 * BOOLEAN, VARCHAR, BIGINT/DOUBLE; JSON columns are VARCHAR holding JSON text (DuckDB's JSON type
 * refuses a lone surrogate's escape, which `extras` must keep: see columns.ts).
 *
 * Why DuckDB: measured on Innerworks rows (benchmarks/destinations and the commit that chose it),
 * hyparquet-writer and DuckDB's appender + COPY both write ~70 k rows/s, @dsnp/parquetjs 16 k; but
 * DuckDB reading a staged CSV page file does the encoding on its own threads, off the event loop
 * that fetches and parses pages, and merges part files into one with a single COPY.
 *
 * Exactly once: each partition appends its pages as CSV rows to a stage file (not counted).
 * Every `rowsPerPart` rows (or `flushIntervalMs`) the stage becomes a part file: COPY to a temp
 * name, fsync, rename, fsync the directory, and only then the state file lists the part and the
 * partition's position after its last row. A kill loses at most the stage, whose pages are
 * fetched again; a part file the state does not list is deleted on resume.
 *
 * `file` ending in `/` is a dataset directory (only the `/` decides: an existing directory named
 * without it is taken as the single file's name): the parts
 * (`part-p01-000001.parquet` …) are the output, read as one table by DuckDB
 * (`read_parquet('DIR/*.parquet')`), pyarrow and Spark (state and temp files start with `.`).
 * Otherwise the parts live in `file.parts/` and `close(true)` merges them (after the rows of an
 * earlier run's `file`) into `file`: temp file, fsync, state marks "merging", rename, then the
 * parts are dropped, so a crash mid-merge neither loses nor doubles rows.
 */
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { syncDirectory } from '../core/checkpoint.js';
import { ConfigError } from '../core/errors.js';
import { integerOption } from '../core/options.js';
import { objectMapping, refuseOtherColumns, type Column, type ColumnMapping } from './columns.js';
import { diskFull, writeFully } from './appending-file.js';
import { refuseOtherFormat } from './file-format.js';
import { csvLineRows, csvRows, fileWriterFile, notAnObject, type FileWriterOptions } from './csv.js';
import type { CsvLineRows } from './csv-lines.js';
import type { JsonLines } from '../core/json-lines.js';
import type { ClosedDestination, Destination, DestinationContext, OpenedExport, OpenRequest, PartitionPosition } from './destination.js';
import { DuckdbHost } from './duckdb-host.js';
import { sqlString, stagedCsvSource } from './staged-csv.js';
import { StateSaver } from './state-saver.js';
import { counted } from '../core/plural.js';


/** Options of the Parquet destination of `exportInferenceResults`. */
export interface ParquetDestinationOptions {
  /** `x.parquet` for one file, or `DIR/` for a dataset directory of part files. */
  file: string;
  /** Where the resume state is saved. Default `file + '.state.json'`, in a dataset directory `DIR/.state.json`. */
  stateFile?: string;
  /** Rows per part file (each one Parquet row group or a few). Default 100 000. */
  rowsPerPart?: number;
  /** Also close a part when its oldest staged row is this old (for slow or `follow` exports), ms. Default 60 000. */
  flushIntervalMs?: number;
}

interface ParquetState {
  version: 1;
  format: 'parquet';
  /** Column names, so a resume with other columns (e.g. `keepRecord`) is refused. */
  columns: string[];
  partitions: PartitionPosition[];
  /** Committed part files, in the parts directory. */
  parts: string[];
  /** Single-file mode: `file` holds the rows of parts merged by an earlier run. */
  merged: boolean;
  /** Single-file mode: the merged temp file is complete; rename it and drop the parts. */
  merging?: boolean;
}

/** A partition's stage: CSV rows not yet in a part file. */
interface Stage {
  path: string;
  handle: FileHandle | undefined;
  rows: number;
  since: number;
  /** The position after the last staged page. */
  position: PartitionPosition | undefined;
  /**
   * A write failed, maybe part-way: the stage may hold rows of a page whose position was never
   * recorded, so it is never made a part (the next run fetches its pages again).
   */
  failed: boolean;
}

/** Rows per Parquet row group: small enough that DuckDB's writer buffers little (flat RSS). */
const ROW_GROUP_ROWS = 20_000;

const PART_NAME = /^part-p(\d+)-(\d+)\.parquet$/;

/**
 * Runs the COPY statements, one at a time, in a DuckDB host process (duckdb-host.ts): DuckDB's
 * library and working memory are not the exporting process's. Measured at 1,000,000 records,
 * in process the export peaked at ~290 MB RSS (JSONL: ~130 MB), ~160 MB of it outside V8.
 */
class DuckCopier {
  private host: DuckdbHost | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly columns: readonly Column[]) {}

  async start(option: string): Promise<void> {
    // One thread and a memory limit: the COPY runs beside the export's own work, and peak RSS
    // must stay flat (measured: 48 MB is too little for a part's COPY, 64 MB enough).
    this.host = await DuckdbHost.open(':memory:', { threads: '1', memory_limit: '64MB' }, option, 'Parquet output');
  }

  /** Staged CSV rows (RFC 4180, no header) into a Parquet file at `target`, fsynced. */
  csvToParquet(stage: string, target: string): Promise<void> {
    return this.copy(`SELECT * FROM ${stagedCsvSource(stage, this.columns.map((column) => [column.name, duckType(column)]))}`, target);
  }

  /** The rows of `inputs` (Parquet files, in order) into one file at `target`, fsynced; no inputs gives an empty file with the columns. */
  mergeParquet(inputs: readonly string[], target: string): Promise<void> {
    const select =
      inputs.length > 0
        ? `SELECT * FROM read_parquet([${inputs.map(sqlString).join(', ')}])`
        : `SELECT ${this.columns.map((column) => `NULL::${duckType(column)} AS ${sqlIdentifier(column.name)}`).join(', ')} LIMIT 0`;
    return this.copy(select, target);
  }

  private copy(select: string, target: string): Promise<void> {
    const run = this.queue.then(async () => {
      try {
        await this.host!.run(`COPY (${select}) TO ${sqlString(target)} (FORMAT parquet, ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`);
        await fsyncFile(target);
      } catch (error) {
        // A half-written file is never counted; drop it so a full disk gets its space back.
        await rm(target, { force: true }).catch(() => undefined);
        throw diskFull(target, error);
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    const host = this.host;
    this.host = undefined;
    await host?.close();
  }
}

/** A Parquet destination for `exportInferenceResults`. */
export function createParquetDestination(options: ParquetDestinationOptions, context: DestinationContext): Destination {
  return new ParquetDestination(options, context.mapping);
}

class ParquetDestination implements Destination {
  readonly kind = 'parquet' as const;
  readonly description: string;
  private readonly dataset: boolean;
  private readonly partsDir: string;
  private readonly rowsPerPart: number;
  private readonly flushIntervalMs: number;
  private readonly state: StateSaver<ParquetState>;
  private readonly copier: DuckCopier;
  private current!: ParquetState;
  private stages: Stage[] = [];
  private readonly lineRows: CsvLineRows;

  constructor(
    private readonly options: ParquetDestinationOptions,
    private readonly mapping: ColumnMapping,
  ) {
    this.dataset = options.file.endsWith('/') || options.file.endsWith('\\');
    const file = this.dataset ? options.file.slice(0, -1) : options.file;
    this.partsDir = this.dataset ? file : `${file}.parts`;
    this.description = this.dataset ? `Parquet dataset directory ${file}` : `Parquet file ${file}`;
    this.rowsPerPart = integerOption('rowsPerPart', options.rowsPerPart, 100_000, 1, 100_000_000);
    this.flushIntervalMs = integerOption('flushIntervalMs', options.flushIntervalMs, 60_000, 1, 86_400_000);
    this.state = new StateSaver(options.stateFile ?? (this.dataset ? join(file, '.state.json') : `${file}.state.json`));
    this.copier = new DuckCopier(mapping.columns);
    this.lineRows = csvLineRows(mapping);
  }

  async open(request: OpenRequest): Promise<OpenedExport> {
    const columns = this.mapping.columns.map((column) => column.name);
    const saved = await this.state.file.load();
    if (saved) {
      // Another format's state (the same FILE.state.json): refused naming both, before anything is touched.
      refuseOtherFormat(saved, 'parquet', this.state.file.path);
      if (saved.format !== 'parquet' || !Array.isArray(saved.columns) || !Array.isArray(saved.parts) || !Array.isArray(saved.partitions)) {
        throw new Error(`The state file ${this.state.file.path} is not a Parquet export state; delete it to start over`);
      }
      if (saved.partitions.length !== request.initial.length) {
        throw new ConfigError('partitions', `the state file ${this.state.file.path} was written with ${counted(saved.partitions.length, 'partition')}; pass the same number or delete it`, request.initial.length);
      }
      refuseOtherColumns(saved.columns, this.mapping, this.state.file.path);
    }
    this.current = saved ?? { version: 1, format: 'parquet', columns, partitions: request.initial.map((position) => ({ ...position })), parts: [], merged: false };
    if (!saved) {
      // Saved before the parts directory exists (a dataset directory holds its state, so it comes
      // first there): a rerun in another format then finds the state and is refused, rather than
      // starting over beside a parts directory it knows nothing of.
      if (this.dataset) await mkdir(this.partsDir, { recursive: true });
      await this.state.save(this.current);
    }
    await mkdir(this.partsDir, { recursive: true });
    if (this.current.merging) await this.finishMerge();
    await this.removeUncounted();
    await this.copier.start('format');
    this.stages = this.current.partitions.map((_, i) => ({ path: join(this.partsDir, `.stage-p${pad(i + 1, 2)}.csv`), handle: undefined, rows: 0, since: 0, position: undefined, failed: false }));
    return { positions: this.current.partitions.map((position) => ({ ...position })), resumed: saved !== undefined };
  }

  async write(partition: number, records: readonly object[], position: PartitionPosition): Promise<void> {
    const count = records.length;
    // The page as CSV text before any await, and the records let go: held through the stage
    // file's open and write they survived the next page's parse into V8's old generation (the
    // profile of the database destinations, checkpointed-table.ts).
    const text = count > 0 ? csvRows(this.mapping, records) : '';
    records = [];
    await this.stageRows(partition, text, count, position);
  }

  /** `write` for a page of JSON lines (an export's pages): the same CSV rows, made from the lines' bytes (`./csv-lines.ts`). */
  async writeLines(partition: number, lines: JsonLines, position: PartitionPosition): Promise<void> {
    const count = lines.length;
    await this.stageRows(partition, count > 0 ? this.lineRows.encode(lines) : '', count, position);
  }

  /** Append a page's `count` rows (`text`) to the partition's stage; a part file when the stage is full or old enough. */
  private async stageRows(partition: number, text: string | Buffer, count: number, position: PartitionPosition): Promise<void> {
    const stage = this.stages[partition];
    if (count > 0) {
      if (!stage.handle) {
        stage.handle = await open(stage.path, 'w');
        stage.since = Date.now();
      }
      await writeFully(stage.handle, text, null, stage.path).catch((error: unknown) => {
        stage.failed = true;
        throw diskFull(stage.path, error);
      });
      stage.rows += count;
    }
    stage.position = position;
    if (stage.rows === 0 || stage.rows >= this.rowsPerPart || Date.now() - stage.since >= this.flushIntervalMs) await this.flush(partition);
  }

  async close(complete: boolean): Promise<ClosedDestination> {
    if (!this.current) {
      await this.copier.close();
      return { files: [], bytes: 0 };
    }
    try {
      // A clean stop keeps the staged rows too; after a failure the next run fetches them again.
      // A stage whose write failed is never flushed (see Stage.failed).
      {
        const flushed = Promise.all(this.stages.map((_, i) => this.flush(i)));
        if (complete) await flushed;
        else await flushed.catch(() => undefined);
      }
      await Promise.all(this.stages.map((stage) => stage.handle?.close()));
      await Promise.all(this.stages.map((stage) => rm(stage.path, { force: true })));
      if (complete && !this.dataset && (this.current.parts.length > 0 || !this.current.merged)) await this.merge();
    } finally {
      await this.copier.close();
      await this.state.settled();
    }
    const files = this.dataset ? this.current.parts.map((name) => join(this.partsDir, name)) : [this.options.file];
    const sizes = await Promise.all(files.map((path) => stat(path).then((s) => s.size, () => 0)));
    return { files, bytes: sizes.reduce((sum, size) => sum + size, 0) };
  }

  /** Make the partition's staged rows a part file, then count it and the position in the state. */
  private async flush(partition: number): Promise<void> {
    const stage = this.stages[partition];
    if (!stage.position || stage.failed) return;
    const position = stage.position;
    stage.position = undefined;
    if (stage.rows > 0) {
      await stage.handle!.datasync();
      const name = `part-p${pad(partition + 1, 2)}-${pad(this.nextPart(partition), 6)}.parquet`;
      const temp = join(this.partsDir, `.${name}.tmp`);
      await this.copier.csvToParquet(stage.path, temp);
      await rename(temp, join(this.partsDir, name));
      await syncDirectory(this.partsDir);
      // The part and the position after its last row enter the state together, with no await
      // between: another partition's save in between would count the part with the old position.
      this.current.parts.push(name);
      this.current.parts.sort();
      this.current.partitions[partition] = position;
      // Start the next stage afresh ('w' truncates; the old handle's offset would leave a hole).
      const handle = stage.handle!;
      stage.handle = undefined;
      stage.rows = 0;
      await handle.close();
    } else {
      this.current.partitions[partition] = position;
    }
    await this.state.save(this.current);
  }

  private nextPart(partition: number): number {
    let last = 0;
    for (const name of this.current.parts) {
      const match = PART_NAME.exec(name);
      if (match && Number(match[1]) === partition + 1) last = Math.max(last, Number(match[2]));
    }
    return last + 1;
  }

  /** Delete part files the state does not count (written before a crash) and leftover stage/temp files. */
  private async removeUncounted(): Promise<void> {
    const counted = new Set(this.current.parts);
    for (const name of await readdir(this.partsDir)) {
      const ours = PART_NAME.test(name) || /^\.stage-p\d+\.csv$/.test(name) || /^\.part-p\d+-\d+\.parquet\.tmp$/.test(name);
      if (ours && !counted.has(name)) await rm(join(this.partsDir, name), { force: true });
    }
    for (const name of this.current.parts) {
      const exists = await stat(join(this.partsDir, name)).then(() => true, () => false);
      if (!exists) throw new Error(`Cannot resume: the part file ${join(this.partsDir, name)} listed in ${this.state.file.path} has gone; delete the state file to start over`);
    }
  }

  /** Single-file mode: the earlier `file` (if any) and the parts, in order, into `file`. */
  private async merge(): Promise<void> {
    const file = this.options.file;
    const inputs = [...(this.current.merged ? [file] : []), ...this.current.parts.map((name) => join(this.partsDir, name))];
    await this.copier.mergeParquet(inputs, mergeTemp(file));
    this.current.merging = true;
    await this.state.save(this.current);
    await this.finishMerge();
  }

  private async finishMerge(): Promise<void> {
    const file = this.options.file;
    const temp = mergeTemp(file);
    if (await stat(temp).then(() => true, () => false)) {
      await rename(temp, file);
      await syncDirectory(dirname(file));
    }
    const parts = this.current.parts;
    this.current.parts = [];
    this.current.merged = true;
    this.current.merging = false;
    await this.state.save(this.current);
    await Promise.all(parts.map((name) => rm(join(this.partsDir, name), { force: true })));
    await rm(this.partsDir, { recursive: true, force: true });
  }
}

/** Options of {@link parquetWriter}. */
export interface ParquetWriterOptions extends FileWriterOptions {
  /** The Parquet file to write; it appears (complete) when the stream finishes. Required. */
  file: string;
}

/**
 * A Writable of objects to one Parquet file (needs `@duckdb/node-api`). Rows are staged as CSV
 * beside the file (memory stays flat) and written as Parquet when the stream finishes; the file
 * appears complete and fsynced before `'finish'`, never half-written.
 */
export function parquetWriter(options: ParquetWriterOptions): Writable {
  const file = fileWriterFile(options);
  const stagePath = join(dirname(file), `.${basename(file)}.stage.csv`);
  let stage: FileHandle | undefined;
  let mapping: ColumnMapping | undefined;
  const start = async (first: object) => {
    mapping = objectMapping(options.columns, first, options);
    stage = await open(stagePath, 'w');
  };
  const release = async () => {
    const opened = stage;
    stage = undefined;
    await opened?.close();
    await rm(stagePath, { force: true });
  };
  return new Writable({
    objectMode: true,
    highWaterMark: 1000,
    writev(chunks, callback) {
      const records = chunks.map(({ chunk }) => chunk as object);
      const bad = notAnObject(records, 'parquetWriter()');
      if (bad) return callback(bad);
      (async () => {
        if (!mapping) await start(records[0]);
        await writeFully(stage!, csvRows(mapping!, records), null, stagePath).catch((error: unknown) => {
          throw diskFull(stagePath, error);
        });
      })().then(() => callback(), callback);
    },
    final(callback) {
      (async () => {
        if (!mapping) await start({});
        await stage!.close();
        stage = undefined;
        const copier = new DuckCopier(mapping!.columns);
        try {
          await copier.start('parquetWriter');
          const temp = `${file}.tmp`;
          await copier.csvToParquet(stagePath, temp);
          await rename(temp, file);
          await syncDirectory(dirname(file));
        } finally {
          await copier.close();
          await release();
        }
      })().then(() => callback(), callback);
    },
    destroy(error, callback) {
      release().then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
}

function mergeTemp(file: string): string {
  return join(dirname(file), `.${basename(file)}.merging`);
}

function duckType(column: Column): string {
  switch (column.type) {
    case 'string':
      return 'VARCHAR';
    case 'boolean':
      return 'BOOLEAN';
    case 'timestamp':
      return 'TIMESTAMP';
    case 'integer':
      return 'BIGINT';
    case 'double':
      return 'DOUBLE';
    case 'json':
      return 'VARCHAR';
  }
}

function sqlIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** fsync a file DuckDB wrote (DuckDB closes it without). */
async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
