/**
 * A prediction as a table row (CSV, Parquet, DuckDB, PostgreSQL): the columns of
 * `PREDICTION_COLUMNS` (src/destinations/columns.ts), built with exactly the chosen keys so the
 * mapping puts nothing else in `extras` but what cannot be typed (a hostile value) and a failed
 * input's `error`.
 */
import { Transform } from 'node:stream';
import { ConfigError } from '../core/errors.js';
import { isJsonText } from '../core/json-text.js';
import { PREDICTION_COLUMNS, predictionMapping, type ColumnSpec, type PredictionColumn } from '../destinations/columns.js';
import type { PredictionResult } from './types.js';

/** The default columns: everything but the input (which doubles a row's size). */
export const DEFAULT_PREDICTION_COLUMNS: readonly PredictionColumn[] = ['id', 'top_label', 'top_probability', 'labels', 'entities', 'sentiment', 'model_version'];

/**
 * The columns of `columns` / `keepInput` (checked: known names, each once): `columns` as given, else
 * the defaults, plus `input` with `keepInput`.
 */
export function predictionColumns(columns: readonly PredictionColumn[] | undefined, keepInput: boolean): { names: readonly PredictionColumn[]; specs: ColumnSpec[] } {
  if (columns !== undefined && !Array.isArray(columns)) throw new ConfigError('columns', 'must be an array of column names', columns);
  const names: readonly PredictionColumn[] = columns ?? (keepInput ? [...DEFAULT_PREDICTION_COLUMNS, 'input'] : DEFAULT_PREDICTION_COLUMNS);
  if (columns !== undefined && keepInput && !names.includes('input')) throw new ConfigError('keepInput', 'adds the input column to the default columns; with columns, name "input" there', keepInput);
  predictionMapping(names);
  return { names, specs: names.map((name) => PREDICTION_COLUMNS.find((column) => column.name === name)!) };
}

/** A Transform from predictions (and failures) to their rows, for a table Writable (`csvWriter`, `parquetWriter`). */
export function predictionRows(columns: readonly PredictionColumn[], idField: string): Transform {
  return new Transform({
    objectMode: true,
    transform(output: PredictionResult<unknown>, _encoding, callback) {
      callback(null, predictionRow(output, columns, idField));
    },
  });
}

/** A failed input's error as JSON can hold it (an Error serializes as `{}`). */
export function failureError(error: unknown): { name: string; message: string } {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
}

/**
 * The row of `output` for `columns`. `id` is the input's `idField` (a number is written as its
 * decimal text: ids are compared as text); `top_label` is the full name (`A > B`) of the most
 * probable label and `top_probability` its probability (null when no label passed the
 * threshold); `labels` and `entities` are the prediction's arrays; `model_version` the model's
 * version number. A failed input (`skipInvalid`) has null predictions and its error in `extras`.
 */
export function predictionRow(output: PredictionResult<unknown>, columns: readonly PredictionColumn[], idField: string): Record<string, unknown> {
  const input = isJsonText(output.input) ? output.input.value : output.input;
  const row: Record<string, unknown> = {};
  const failed = 'error' in output;
  for (const column of columns) {
    switch (column) {
      case 'id': {
        const id = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[idField] : ('uid' in output ? output.uid : undefined) ?? (typeof input === 'string' ? input : undefined);
        row.id = typeof id === 'number' ? String(id) : (id ?? null);
        break;
      }
      case 'top_label':
      case 'top_probability': {
        if (failed || output.labels.length === 0) {
          row[column] = null;
          break;
        }
        const top = output.labels.reduce((best, label) => (label.probability > best.probability ? label : best));
        row[column] = column === 'top_label' ? top.fullName : top.probability;
        break;
      }
      case 'labels':
      case 'entities':
        row[column] = failed ? null : output[column];
        break;
      case 'sentiment':
        row.sentiment = failed ? null : output.sentiment;
        break;
      case 'model_version':
        row.model_version = failed ? null : (output.model?.version ?? null);
        break;
      case 'input':
        row.input = input;
        break;
    }
  }
  if (failed) row.error = failureError(output.error);
  return row;
}
