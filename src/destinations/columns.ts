/**
 * The one column mapping of the tabular destinations (CSV, Parquet, DuckDB, PostgreSQL): a record
 * becomes a row of flattened, typed values, the same columns in every destination so a query
 * written for one runs on the others.
 *
 * Nothing is dropped or changed silently, and no value can stop an export: a field no column
 * names (first seen on a later page, or a vendor addition), or a value its typed column cannot
 * hold exactly, goes into the `extras` JSON column at its own path
 * (`{"result":{"geolocation":{"isp":"X"}}}`) and the typed column holds null. "Exactly" is
 * decided here, once, for every destination (see {@link cellOf}): the expected JSON type; a
 * string without NUL or a lone surrogate (no database text type stores them); an integer within
 * ±2^53; a timestamp only from an RFC 3339 date-time with an explicit zone, a real calendar date,
 * years 0001–9999 and at most millisecond precision (never a number: seconds or milliseconds
 * cannot be told apart). `extras` is `JSON.stringify` text, whose `\u` escapes keep NUL and lone
 * surrogates as plain ASCII: the destinations store it as JSON *text* (PostgreSQL `json`, not
 * `jsonb`, which refuses `\u0000`; DuckDB and Parquet `VARCHAR`, as DuckDB's JSON type refuses a
 * lone surrogate), so `JSON.parse` of the stored text gives back the original value.
 *
 * The typed columns plus `extras` therefore hold the whole record; the optional `record` column
 * (off by default: it doubles the size and the CPU per row) keeps the whole record as JSON as well
 * (`JSON.stringify` of the parsed record; a `JsonText` record keeps its own text). Numbers are
 * doubles throughout: a page is read with `JSON.parse`.
 */
import { ConfigError } from '../core/errors.js';
import { isJsonText, oneLine } from '../core/json-text.js';

/** A column's type, mapped by each destination to its own (see the README table). */
export type ColumnType = 'string' | 'boolean' | 'timestamp' | 'integer' | 'double' | 'json';

/** One column: its name and where its value comes from. */
export interface ColumnSpec {
  /** Column name in the target. */
  name: string;
  /** Dotted path of the value in the record, e.g. `result.geolocation.vpnIsEnabled`. Default: `name`. */
  path?: string;
  /**
   * The column's type. Default: from the first record that has a value there (string, boolean,
   * double, json for objects and arrays; timestamp for a `Date`). A value the type cannot hold
   * exactly goes to `extras` (the table in the README section "Columns").
   */
  type?: ColumnType;
}

/** A resolved column. */
export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  /** The path in the record; empty for the `extras` and `record` columns. */
  readonly path: readonly string[];
}

/**
 * A value in a row: string (string columns; json columns hold JSON text), boolean, number
 * (integer/double; timestamps as epoch milliseconds, UTC, years 0001–9999), or null.
 */
export type CellValue = string | number | boolean | null;

/** Maps records to rows. */
export interface ColumnMapping {
  /** The columns, in row order (`extras` and, when kept, `record` last). */
  readonly columns: readonly Column[];
  /** The row of `record`, one value per column. */
  row(record: object): CellValue[];
}

/** Options of the mappings. */
export interface MappingOptions {
  /** Add a `record` JSON column with the whole record's JSON text. Default false. */
  keepRecord?: boolean;
}

/** Name of the JSON column of fields no other column takes. */
export const EXTRAS_COLUMN = 'extras';
/** Name of the optional JSON column of the whole record. */
export const RECORD_COLUMN = 'record';

/**
 * The columns of an Innerworks inference result (seed 000), snake_case so they need no quoting in
 * SQL. `timestamp` is a TIMESTAMP (UTC), `vpn_is_enabled` a BOOLEAN, every other field TEXT.
 */
export const INNERWORKS_COLUMNS: readonly ColumnSpec[] = [
  { name: 'request_id', path: 'requestId', type: 'string' },
  { name: 'project_id', path: 'projectId', type: 'string' },
  { name: 'timestamp', path: 'timestamp', type: 'timestamp' },
  { name: 'fingerprint', path: 'result.fingerprinting.fingerprint', type: 'string' },
  { name: 'browser', path: 'result.fingerprinting.browser', type: 'string' },
  { name: 'device_os', path: 'result.fingerprinting.deviceOs', type: 'string' },
  { name: 'social_id', path: 'result.fingerprinting.socialId', type: 'string' },
  { name: 'vpn_is_enabled', path: 'result.geolocation.vpnIsEnabled', type: 'boolean' },
  { name: 'vpn_detection_reasons', path: 'result.geolocation.vpnDetectionReasons', type: 'string' },
  { name: 'true_geo_location_name', path: 'result.geolocation.trueGeoLocationName', type: 'string' },
  { name: 'true_geo_location_code', path: 'result.geolocation.trueGeoLocationCode', type: 'string' },
  { name: 'vpn_provider', path: 'result.geolocation.vpnProvider', type: 'string' },
  { name: 'vpn_location_code', path: 'result.geolocation.vpnLocationCode', type: 'string' },
  { name: 'state_us', path: 'result.geolocation.stateUS', type: 'string' },
  { name: 'true_user_ip_address', path: 'result.geolocation.trueUserIpAddress', type: 'string' },
  { name: 'request_ip_address', path: 'result.geolocation.requestIpAddress', type: 'string' },
];

/**
 * Refuse to resume a file export whose state was saved with other columns than `mapping`'s: the
 * file (or dataset) would mix two row layouts. Exports change their columns only by `keepRecord`
 * (`--keep-record`), so the error names that option. A state saved without columns (`saved`
 * undefined, written before they were saved) cannot be checked and is accepted.
 */
export function refuseOtherColumns(saved: readonly string[] | undefined, mapping: ColumnMapping, stateFile: string): void {
  if (saved === undefined) return;
  const columns = mapping.columns.map((column) => column.name);
  if (saved.join() === columns.join()) return;
  const keptRecord = saved.includes(RECORD_COLUMN);
  if (keptRecord !== columns.includes(RECORD_COLUMN)) {
    throw new ConfigError('keepRecord', `the export being resumed (${stateFile}) was written ${keptRecord ? 'with' : 'without'} keepRecord (--keep-record, the ${RECORD_COLUMN} column); pass the same or delete the state file to start over`);
  }
  // Other columns (a predictions run's `columns`, `keepInput`): name the option that chose them.
  throw new ConfigError('columns', `the run being resumed (${stateFile}) has the columns ${saved.join(', ')}, not ${columns.join(', ')}; pass the same options or delete the state file to start over`);
}

/**
 * The columns of a prediction row (`predictInto` into CSV, Parquet, DuckDB or PostgreSQL), all
 * that can be chosen, in row order: the input's id, the most probable label and its
 * probability, every label and entity as JSON, the sentiment, the model version, and the input
 * itself as JSON. Rows are built by `src/reinfer/prediction-row.ts` with exactly these keys.
 */
export const PREDICTION_COLUMNS: readonly Required<ColumnSpec>[] = [
  { name: 'id', path: 'id', type: 'string' },
  { name: 'top_label', path: 'top_label', type: 'string' },
  { name: 'top_probability', path: 'top_probability', type: 'double' },
  { name: 'labels', path: 'labels', type: 'json' },
  { name: 'entities', path: 'entities', type: 'json' },
  { name: 'sentiment', path: 'sentiment', type: 'double' },
  { name: 'model_version', path: 'model_version', type: 'integer' },
  { name: 'input', path: 'input', type: 'json' },
];

/** Names of {@link PREDICTION_COLUMNS}. */
export type PredictionColumn = 'id' | 'top_label' | 'top_probability' | 'labels' | 'entities' | 'sentiment' | 'model_version' | 'input';

/** The mapping of prediction rows with these columns (checked: known names, each once), in the order given. */
export function predictionMapping(columns: readonly string[]): ColumnMapping {
  const seen = new Set<string>();
  const specs = columns.map((name) => {
    const spec = PREDICTION_COLUMNS.find((column) => column.name === name);
    if (!spec) throw new ConfigError('columns', `has no column "${name}"; choose from ${PREDICTION_COLUMNS.map((column) => column.name).join(', ')}`, name);
    if (seen.has(name)) throw new ConfigError('columns', `names "${name}" twice`, name);
    seen.add(name);
    return spec;
  });
  if (specs.length === 0) throw new ConfigError('columns', `must name at least one of ${PREDICTION_COLUMNS.map((column) => column.name).join(', ')}`, columns);
  return new PathMapping(specs, {});
}

/** The mapping of Innerworks results used by `exportInferenceResults`. */
export function innerworksMapping(options: MappingOptions = {}): ColumnMapping {
  return new PathMapping(INNERWORKS_COLUMNS as Required<ColumnSpec>[], options);
}

/**
 * A mapping for arbitrary objects (the Writables): the given columns, or when none are given the
 * top-level fields of the first record (nested objects become json columns). Types not given are
 * taken from the first record that has a value for the column.
 */
export function objectMapping(columns: readonly (string | ColumnSpec)[] | undefined, firstItem: object, options: MappingOptions = {}): ColumnMapping {
  const first = isJsonText(firstItem) ? (firstItem.value as object) : firstItem;
  const specs: ColumnSpec[] = columns === undefined ? Object.keys(first).map((name) => ({ name })) : columns.map((column, i) => columnSpec(column, i));
  const seen = new Set<string>();
  for (const spec of specs) {
    if (spec.name === EXTRAS_COLUMN || (options.keepRecord && spec.name === RECORD_COLUMN)) throw new ConfigError('columns', `must not name the reserved column "${spec.name}"`, spec.name);
    if (seen.has(spec.name)) throw new ConfigError('columns', `names "${spec.name}" twice`, spec.name);
    seen.add(spec.name);
  }
  const typed = specs.map((spec) => ({ name: spec.name, path: spec.path ?? spec.name, type: spec.type ?? inferType(valueAt(first, (spec.path ?? spec.name).split('.'))) }));
  return new PathMapping(typed, options);
}

/**
 * Whether `mapping` is one of this file's (its `row()` is the walk of {@link PathMapping} along
 * the paths its columns list): another reader of the same records (`./csv-lines.ts`, which reads
 * a record's JSON bytes) may then give the cells of `row()` itself, where it is sure to give the
 * same ones.
 */
export function isPathMapping(mapping: ColumnMapping): boolean {
  return mapping instanceof PathMapping;
}

/** Validate one entry of a `columns` option. */
function columnSpec(column: unknown, index: number): ColumnSpec {
  const spec = typeof column === 'string' ? { name: column } : column;
  if (typeof spec !== 'object' || spec === null || typeof (spec as ColumnSpec).name !== 'string' || (spec as ColumnSpec).name === '') {
    throw new ConfigError(`columns[${index}]`, 'must be a column name or {name, path?, type?}', column);
  }
  const { name, path, type } = spec as ColumnSpec;
  if (path !== undefined && (typeof path !== 'string' || path === '' || path.split('.').includes(''))) {
    throw new ConfigError(`columns[${index}].path`, 'must be a dotted path like "a.b"', path);
  }
  if (type !== undefined && !COLUMN_TYPES.includes(type)) throw new ConfigError(`columns[${index}].type`, `must be one of ${COLUMN_TYPES.join(', ')}`, type);
  return { name, path, type };
}

const COLUMN_TYPES: readonly ColumnType[] = ['string', 'boolean', 'timestamp', 'integer', 'double', 'json'];

function inferType(value: unknown): ColumnType {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return 'double';
  if (value instanceof Date) return 'timestamp';
  if (typeof value === 'object' && value !== null) return 'json';
  return 'string';
}

function valueAt(record: object, path: readonly string[]): unknown {
  let value: unknown = record;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A node of the path tree: a column's leaf, or an object whose known keys lead to columns. */
interface PathNode {
  column?: number;
  type?: ColumnType;
  children?: Map<string, PathNode>;
}

/**
 * Walks each record once along a tree of the column paths; every key not in the tree, and every
 * value of the wrong type, is copied into `extras` at its path.
 */
class PathMapping implements ColumnMapping {
  readonly columns: readonly Column[];
  private readonly root: PathNode = { children: new Map() };
  private readonly width: number;
  private readonly keepRecord: boolean;

  constructor(specs: readonly { name: string; path: string; type: ColumnType }[], options: MappingOptions) {
    const columns: Column[] = [];
    specs.forEach((spec, index) => {
      const path = spec.path.split('.');
      let node = this.root;
      for (const [depth, key] of path.entries()) {
        if (node.column !== undefined) throw new ConfigError('columns', `"${spec.name}" lies inside the column "${columns[node.column].name}"`, spec.path);
        node.children ??= new Map();
        let child = node.children.get(key);
        if (!child) {
          child = {};
          node.children.set(key, child);
        }
        if (depth === path.length - 1 && (child.column !== undefined || child.children)) throw new ConfigError('columns', `"${spec.name}" overlaps another column's path`, spec.path);
        node = child;
      }
      node.column = index;
      node.type = spec.type;
      columns.push({ name: spec.name, type: spec.type, path });
    });
    this.width = columns.length;
    this.keepRecord = options.keepRecord === true;
    columns.push({ name: EXTRAS_COLUMN, type: 'json', path: [] });
    if (this.keepRecord) columns.push({ name: RECORD_COLUMN, type: 'json', path: [] });
    this.columns = columns;
  }

  row(item: object): CellValue[] {
    // A JsonText (parseJsonl/parseJsonArray with keepText) maps as its value; `record` keeps its text.
    const record = isJsonText(item) ? (item.value as object) : item;
    const row: CellValue[] = new Array<CellValue>(this.columns.length).fill(null);
    const extras = this.walk(this.root, record as Record<string, unknown>, row);
    row[this.width] = extras === undefined ? null : JSON.stringify(extras);
    if (this.keepRecord) row[this.width + 1] = isJsonText(item) ? oneLine(item.text) : JSON.stringify(record);
    return row;
  }

  /** Fill `row` from `object` along `node`; returns the fields left over (or undefined). */
  private walk(node: PathNode, object: Record<string, unknown>, row: CellValue[]): Record<string, unknown> | undefined {
    // A null-prototype object: a `__proto__` key is then an ordinary own key that JSON.stringify
    // keeps (on `{}` the assignment would set the prototype and the field would vanish).
    let extras: Record<string, unknown> | undefined;
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      const value = object[key];
      if (value === undefined) continue;
      const child = node.children?.get(key);
      let left: unknown = value;
      if (child?.column !== undefined) {
        const cell = value === null ? null : cellOf(value, child.type!);
        if (cell !== undefined) {
          row[child.column] = cell;
          left = undefined;
        } else if (value instanceof Date && Number.isNaN(value.getTime())) {
          // JSON.stringify would write an invalid Date as null: keep that it was one.
          left = String(value);
        }
      } else if (child && typeof value === 'object' && value !== null && !Array.isArray(value)) {
        left = this.walk(child, value as Record<string, unknown>, row);
      }
      if (left !== undefined) (extras ??= Object.create(null) as Record<string, unknown>)[key] = left;
    }
    return extras;
  }
}

/**
 * The cell of `value` for a column of `type`, or undefined when the column cannot hold it exactly
 * (it then goes to extras with its original value). This is the one place that decides; every
 * destination stores the cells it returns as they are.
 */
export function cellOf(value: unknown, type: ColumnType): CellValue | undefined {
  switch (type) {
    case 'string':
      return typeof value === 'string' && storableText(value) ? value : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? value : undefined;
    case 'double':
      return typeof value === 'number' ? value : undefined;
    case 'integer':
      return Number.isSafeInteger(value) ? (value as number) : undefined;
    case 'timestamp':
      return typeof value === 'string' ? rfc3339Millis(value) : value instanceof Date ? inTimestampRange(value.getTime()) : undefined;
    case 'json':
      return JSON.stringify(value);
  }
}

/**
 * Whether every text type stores `text` as it is: PostgreSQL's text refuses NUL, and a lone
 * surrogate has no UTF-8 form (encoding it would write U+FFFD instead).
 */
function storableText(text: string): boolean {
  return !text.includes('\0') && (text as string & WellFormed).isWellFormed();
}

/** `String.prototype.isWellFormed` (Node 20; typed from lib ES2024, which this build's ES2023 lib predates). */
interface WellFormed {
  isWellFormed(): boolean;
}

/** 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z: the years every destination (and CSV reader) takes. */
const FIRST_MS = -62_135_596_800_000;
const END_MS = 253_402_300_800_000;
/** A 400-year Gregorian cycle in ms: Date.UTC reads years 0–99 as 1900–1999, so they go 400 years up and back. */
const CYCLE_MS = 146_097 * 86_400_000;

/**
 * Epoch milliseconds of an RFC 3339 date-time with an explicit zone, or undefined for anything
 * else. Taken: `YYYY-MM-DD`, then `T` (or `t`, or a space, as RFC 3339 section 5.6 allows),
 * `hh:mm:ss`, an optional fraction, and `Z`/`z` or `±hh:mm`. Refused: no zone (its meaning would
 * depend on the exporting machine's time zone), a date that does not exist (`2024-02-30`, which
 * Date.parse makes March 1st), a leap second (no destination has one), fraction digits beyond the
 * millisecond other than zeros, and years outside 0001–9999. `Date.parse` is not used: it also
 * takes `"Project 12"` and `"1"` as dates. Read by char codes, not a regular expression: this
 * runs once per record, and measured on ISO strings it takes about half of Date.parse's time
 * (~90 ns), where the pattern took twice Date.parse's.
 */
function rfc3339Millis(text: string): number | undefined {
  const length = text.length;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const separator = text.charCodeAt(10);
  if (
    length < 20 ||
    year < 0 ||
    text.charCodeAt(4) !== DASH ||
    text.charCodeAt(7) !== DASH ||
    (separator !== UPPER_T && separator !== LOWER_T && separator !== SPACE) ||
    text.charCodeAt(13) !== COLON ||
    text.charCodeAt(16) !== COLON ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59
  ) {
    return undefined;
  }
  let index = 19;
  let millis = 0;
  if (text.charCodeAt(index) === DOT) {
    const first = ++index;
    for (let digit = text.charCodeAt(index) - ZERO; digit >= 0 && digit <= 9; digit = text.charCodeAt(++index) - ZERO) {
      if (index - first < 3) millis = millis * 10 + digit;
      else if (digit !== 0) return undefined;
    }
    const count = index - first;
    if (count === 0) return undefined;
    if (count < 3) millis *= count === 1 ? 100 : 10;
  }
  let offsetMinutes = 0;
  const zone = text.charCodeAt(index);
  if (zone === UPPER_Z || zone === LOWER_Z) {
    if (index + 1 !== length) return undefined;
  } else if ((zone === PLUS || zone === DASH) && index + 6 === length && text.charCodeAt(index + 3) === COLON) {
    const offsetHours = digits(text, index + 1, 2);
    const offsetMins = digits(text, index + 4, 2);
    if (offsetHours < 0 || offsetHours > 23 || offsetMins < 0 || offsetMins > 59) return undefined;
    offsetMinutes = (zone === DASH ? -1 : 1) * (offsetHours * 60 + offsetMins);
  } else {
    return undefined;
  }
  const local = year < 100 ? Date.UTC(year + 400, month - 1, day, hour, minute, second, millis) - CYCLE_MS : Date.UTC(year, month - 1, day, hour, minute, second, millis);
  return inTimestampRange(local - offsetMinutes * 60_000);
}

const ZERO = 48;
const DASH = 45;
const PLUS = 43;
const COLON = 58;
const DOT = 46;
const SPACE = 32;
const UPPER_T = 84;
const LOWER_T = 116;
const UPPER_Z = 90;
const LOWER_Z = 122;

/** The number written by `count` ASCII digits at `start`, or -1 if any is not one (or the text ends). */
function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const digit = text.charCodeAt(i) - ZERO;
    // NaN past the end fails both comparisons.
    if (!(digit >= 0 && digit <= 9)) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function inTimestampRange(ms: number): number | undefined {
  return ms >= FIRST_MS && ms < END_MS ? ms : undefined;
}
