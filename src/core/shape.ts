/**
 * A small declarative description of JSON request shapes (types, required fields, lengths,
 * counts, allowed values) and a checker compiled from it once. A vendor's published limits are
 * written as a table of {@link Shape}s; the client checks its inputs with it before sending and
 * the emulator checks requests with the same table, so the two cannot drift apart.
 *
 * Why not ajv or typebox: the tables are a few dozen lines using a handful of JSON Schema
 * keywords. The checker costs under a microsecond per benchmark document, about as much as the
 * hand-written checks it replaced and a tenth of serializing the document
 * (`benchmarks/reinfer-predict/validate.mjs`). Its errors read as this library's do, and it
 * needs no dependency. The error names the field path, e.g.
 * `messages[0].from: must be 1..512 characters (got 600)`.
 *
 * Lengths are counted in Unicode code points, as JSON Schema's `maxLength` does; the exact
 * count is only taken when a string's UTF-16 length is over the limit (code points ≤ units).
 */

export type Shape = StringShape | NumberShape | BooleanShape | ArrayShape | ObjectShape | PrefixMapShape;

export interface StringShape {
  type: 'string';
  /** Fewest characters (code points). Default 0. */
  minLength?: number;
  /** Most characters (code points). Default unbounded. */
  maxLength?: number;
  /** The only values allowed. Default any. */
  values?: readonly string[];
}

export interface NumberShape {
  type: 'number';
  /** Smallest value. Default unbounded (finite numbers only). */
  min?: number;
  /** Largest value. Default unbounded. */
  max?: number;
  /** Only whole numbers. Default false. */
  integer?: boolean;
}

export interface BooleanShape {
  type: 'boolean';
}

export interface ArrayShape {
  type: 'array';
  items: Shape;
  /** Fewest items. Default 0. */
  minItems?: number;
  /** Most items. Default unbounded. */
  maxItems?: number;
}

export interface ObjectShape {
  type: 'object';
  /** Known fields. A field whose value is `undefined` counts as absent (JSON drops it). */
  fields?: Readonly<Record<string, Shape>>;
  /** Fields that must be present. */
  required?: readonly string[];
  /** At least one of these fields must be present (e.g. `raw` or `parsed`). */
  requireOneOf?: readonly string[];
  /** Fields not in `fields`: `'allow'` (unchecked) or `'refuse'`. Default `'allow'`. */
  otherFields?: 'allow' | 'refuse';
}

/** An object whose every key starts with one of the prefixes (and is longer), its value checked by that prefix's shape. */
export interface PrefixMapShape {
  type: 'prefix-map';
  prefixes: Readonly<Record<string, Shape>>;
}

/** What is wrong and where: `path` from the checked value's root, e.g. `['messages', 0, 'from']`. */
export interface ShapeProblem {
  path: Array<string | number>;
  /** `must be 1..512 characters (got 600)`, or `is required`. */
  message: string;
}

/** A compiled checker: the first problem found, or undefined when the value fits. */
export type ShapeCheck = (value: unknown) => ShapeProblem | undefined;

/** Compile a shape into a checker (do this once, at module load; the checker is called per document). */
export function compileShape(shape: Shape): ShapeCheck {
  switch (shape.type) {
    case 'string':
      return compileString(shape);
    case 'number':
      return compileNumber(shape);
    case 'boolean':
      return (value) => (typeof value === 'boolean' ? undefined : problem(`must be true or false (got ${kindOf(value)})`));
    case 'array':
      return compileArray(shape);
    case 'object':
      return compileObject(shape);
    case 'prefix-map':
      return compilePrefixMap(shape);
  }
}

/** `messages[0].body.text`, `user_properties["string:City"]`; `prefix` goes first (e.g. `documents[3]`). */
export function formatPath(path: ReadonlyArray<string | number>, prefix = ''): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** One line naming the field: `messages[0].from: must be …`, `messages[0].body is required`. */
export function describeProblem(found: ShapeProblem, prefix = ''): string {
  const where = formatPath(found.path, prefix);
  if (where === '') return found.message;
  return found.message === REQUIRED ? `${where} ${REQUIRED}` : `${where}: ${found.message}`;
}

const REQUIRED = 'is required';

function problem(message: string): ShapeProblem {
  return { path: [], message };
}

/** Prepend a path step on the way back up (only on failure: the valid path builds nothing). */
function at(step: string | number, found: ShapeProblem): ShapeProblem {
  found.path.unshift(step);
  return found;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function codePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

function range(min: number | undefined, max: number | undefined, unit: string): string {
  if (min !== undefined && max !== undefined) return `${min}..${max} ${unit}`;
  if (max !== undefined) return `at most ${max} ${unit}`;
  return `at least ${min} ${unit}`;
}

function compileString(shape: StringShape): ShapeCheck {
  const { minLength = 0, maxLength, values } = shape;
  const lengths = range(minLength > 0 ? minLength : undefined, maxLength, 'characters');
  const allowed = values ? new Set(values) : undefined;
  const allowedText = values?.map((v) => JSON.stringify(v)).join(' or ');
  return (value) => {
    if (typeof value !== 'string') return problem(`must be a string (got ${kindOf(value)})`);
    if (allowed !== undefined && !allowed.has(value)) {
      return problem(`must be ${allowedText} (got ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)})`);
    }
    if (value.length < minLength) return problem(`must be ${lengths} (got ${value.length})`);
    if (maxLength !== undefined && value.length > maxLength) {
      const count = codePoints(value);
      if (count > maxLength) return problem(`must be ${lengths} (got ${count})`);
    }
    return undefined;
  };
}

function compileNumber(shape: NumberShape): ShapeCheck {
  const { min, max, integer = false } = shape;
  const what = integer ? 'an integer' : 'a number';
  const bounds = min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` ≥ ${min}` : max !== undefined ? ` ≤ ${max}` : '';
  const expected = `must be ${what}${bounds}`;
  return (value) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return problem(`${expected} (got ${typeof value === 'number' ? value : kindOf(value)})`);
    if ((integer && !Number.isInteger(value)) || (min !== undefined && value < min) || (max !== undefined && value > max)) return problem(`${expected} (got ${value})`);
    return undefined;
  };
}

function compileArray(shape: ArrayShape): ShapeCheck {
  const { minItems = 0, maxItems } = shape;
  const items = compileShape(shape.items);
  const counts = range(minItems > 0 ? minItems : undefined, maxItems, 'items');
  return (value) => {
    if (!Array.isArray(value)) return problem(`must be an array (got ${kindOf(value)})`);
    if (value.length < minItems || (maxItems !== undefined && value.length > maxItems)) return problem(`must hold ${counts} (got ${value.length})`);
    for (let i = 0; i < value.length; i++) {
      const found = items(value[i]);
      if (found !== undefined) return at(i, found);
    }
    return undefined;
  };
}

/**
 * An object check is generated as the source of one function with a plain property read per
 * known field (`value["body"]`), compiled once with `new Function`: V8 then reads each field
 * through an inline cache, as hand-written code would. A closure looping over the field names
 * reads every one through the same megamorphic site, measured 5–10× slower per message
 * (`benchmarks/reinfer-predict/validate.mjs`). Names are embedded with JSON.stringify, so no
 * text of the table is ever code; the table is the library's own, never input.
 */
function compileObject(shape: ObjectShape): ShapeCheck {
  const names = Object.keys(shape.fields ?? {});
  const checks = names.map((name) => compileShape(shape.fields![name]));
  const required = new Set(shape.required ?? []);
  const lines: string[] = [
    'if (typeof value !== "object" || value === null || Array.isArray(value)) return problem("must be an object (got " + kindOf(value) + ")");',
    'let present = 0, field, found;',
  ];
  names.forEach((name, i) => {
    const key = JSON.stringify(name);
    lines.push(`field = value[${key}];`);
    const missing = required.has(name) ? ` else return at(${key}, problem(REQUIRED));` : '';
    lines.push(`if (field !== undefined) { present++; found = checks[${i}](field); if (found !== undefined) return at(${key}, found); }${missing}`);
  });
  // A required name with no shape of its own still has to be present.
  for (const name of required) if (!names.includes(name)) lines.push(`if (value[${JSON.stringify(name)}] === undefined) return at(${JSON.stringify(name)}, problem(REQUIRED));`);
  if (shape.requireOneOf !== undefined && shape.requireOneOf.length > 0) {
    const absent = shape.requireOneOf.map((name) => `value[${JSON.stringify(name)}] === undefined`).join(' && ');
    const text = shape.requireOneOf.map((name) => JSON.stringify(name)).join(' or ');
    lines.push(`if (${absent}) return problem(${JSON.stringify(`needs ${text}`)});`);
  }
  if (shape.otherFields === 'refuse') {
    // Counting keys is cheap; only a mismatch looks for the unknown one (it may hold undefined).
    lines.push('let keys = 0; for (const key in value) keys++;', 'if (keys !== present) return unknownField(value);');
  }
  lines.push('return undefined;');
  const known = new Set(names);
  const knownText = names.join(', ');
  const unknownField = (value: Record<string, unknown>): ShapeProblem | undefined => {
    for (const key of Object.keys(value)) {
      if (!known.has(key) && value[key] !== undefined) return at(key, problem(`is not a known field (allowed: ${knownText})`));
    }
    return undefined;
  };
  const factory = new Function('checks', 'problem', 'at', 'kindOf', 'REQUIRED', 'unknownField', `return function checkObject(value) {\n${lines.join('\n')}\n};`);
  return factory(checks, problem, at, kindOf, REQUIRED, unknownField) as ShapeCheck;
}

function compilePrefixMap(shape: PrefixMapShape): ShapeCheck {
  const prefixes = Object.keys(shape.prefixes);
  const checks = prefixes.map((prefix) => compileShape(shape.prefixes[prefix]));
  const prefixText = prefixes.map((p) => JSON.stringify(p)).join(' or ');
  return (value) => {
    if (!isPlainObject(value)) return problem(`must be an object (got ${kindOf(value)})`);
    const keys = Object.keys(value);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      let p = 0;
      while (p < prefixes.length && !(key.length > prefixes[p].length && key.startsWith(prefixes[p]))) p++;
      if (p === prefixes.length) return at(key, problem(`the key must start with ${prefixText} and name the property`));
      const found = checks[p](value[key]);
      if (found !== undefined) return at(key, found);
    }
    return undefined;
  };
}
