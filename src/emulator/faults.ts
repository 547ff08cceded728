/**
 * Which request gets which fault: scripted by request number, queued at run time by a test, or
 * drawn at random (seeded, so a run is repeatable).
 */
import { seededRandom } from './http-util.js';
import { FAULT_KINDS, type FaultKind, type FaultOptions, type ScriptedFault } from './types.js';

const DEFAULT_RANDOM_KINDS: FaultKind[] = ['429', '500', '502', '503', 'reset', 'truncate'];

export interface ResolvedFaults {
  retryAfterMs: number;
  slowMs: number;
}

export class FaultPlan {
  private rate = 0;
  private kinds: FaultKind[] = DEFAULT_RANDOM_KINDS;
  private routes: string[] | undefined;
  private script: ScriptedFault[] = [];
  private random!: () => number;
  private readonly queued: Array<{ route: string | undefined; kind: FaultKind; remaining: number }> = [];
  private readonly counts = new Map<string, number>();
  private total = 0;
  settings: ResolvedFaults = { retryAfterMs: 1000, slowMs: 3000 };

  constructor(options: FaultOptions | undefined, defaultSeed: number) {
    this.configure(options, defaultSeed);
  }

  /** Replace the random/scripted plan (queued faults stay). */
  configure(options: FaultOptions | undefined, defaultSeed: number): void {
    const opts = options ?? {};
    if (opts.rate !== undefined && !(opts.rate >= 0 && opts.rate <= 1)) throw new RangeError('faults.rate must be from 0 to 1');
    for (const kind of [...(opts.kinds ?? []), ...(opts.script ?? []).map((s) => s.kind)]) {
      if (!FAULT_KINDS.includes(kind)) throw new RangeError(`unknown fault kind "${kind}" (known: ${FAULT_KINDS.join(', ')})`);
    }
    this.rate = opts.rate ?? 0;
    this.kinds = opts.kinds && opts.kinds.length > 0 ? [...opts.kinds] : DEFAULT_RANDOM_KINDS;
    this.routes = opts.routes;
    this.script = opts.script ?? [];
    this.random = seededRandom(opts.seed ?? defaultSeed);
    this.settings = { retryAfterMs: opts.retryAfterMs ?? 1000, slowMs: opts.slowMs ?? 3000 };
  }

  /** Make the next `count` requests on `route` (name or prefix; any when omitted) fail with `kind`. */
  inject(kind: FaultKind, route?: string, count = 1): void {
    if (!FAULT_KINDS.includes(kind)) throw new RangeError(`unknown fault kind "${kind}"`);
    this.queued.push({ route, kind, remaining: count });
  }

  /** Decide the fault (if any) for the next request on `routeName`. */
  next(routeName: string): FaultKind | undefined {
    this.total++;
    const nthOnRoute = (this.counts.get(routeName) ?? 0) + 1;
    this.counts.set(routeName, nthOnRoute);

    const queued = this.queued.find((q) => matches(routeName, q.route));
    if (queued) {
      queued.remaining--;
      if (queued.remaining <= 0) this.queued.splice(this.queued.indexOf(queued), 1);
      return queued.kind;
    }
    const scripted = this.script.find((s) => (s.route === undefined ? s.nth === this.total : matches(routeName, s.route) && s.nth === this.nthFor(s.route)));
    if (scripted) return scripted.kind;
    if (this.rate > 0 && (!this.routes || this.routes.some((r) => matches(routeName, r))) && this.random() < this.rate) {
      return this.kinds[Math.floor(this.random() * this.kinds.length)];
    }
    return undefined;
  }

  /** A coin for choices inside a fault (e.g. reset before or during the body). */
  coin(): boolean {
    return this.random() < 0.5;
  }

  private nthFor(route: string): number {
    let sum = 0;
    for (const [name, count] of this.counts) if (matches(name, route)) sum += count;
    return sum;
  }
}

/** `innerworks` matches `innerworks.batch`; a full name matches itself. */
export function matches(routeName: string, target: string | undefined): boolean {
  return target === undefined || routeName === target || routeName.startsWith(`${target}.`);
}

/** Parse the CLI form `rate=0.1,kinds=429,503,reset` (kinds take every comma-separated item after `kinds=`). */
export function parseFaultSpec(spec: string): FaultOptions {
  const options: FaultOptions = {};
  let current: string | undefined;
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq >= 0) {
      current = part.slice(0, eq);
      const value = part.slice(eq + 1);
      if (current === 'rate') options.rate = Number(value);
      else if (current === 'seed') options.seed = Number(value);
      else if (current === 'retry-after-ms' || current === 'retryAfterMs') options.retryAfterMs = Number(value);
      else if (current === 'slow-ms' || current === 'slowMs') options.slowMs = Number(value);
      else if (current === 'kinds') options.kinds = [value as FaultKind];
      else if (current === 'routes') options.routes = [value];
      else throw new RangeError(`unknown fault setting "${current}" (use rate=, kinds=, routes=, seed=, retry-after-ms=, slow-ms=)`);
    } else if (current === 'kinds') {
      options.kinds!.push(part as FaultKind);
    } else if (current === 'routes') {
      options.routes!.push(part);
    } else {
      throw new RangeError(`cannot read fault setting "${part}"`);
    }
  }
  for (const kind of options.kinds ?? []) {
    if (!FAULT_KINDS.includes(kind)) throw new RangeError(`unknown fault kind "${kind}" (known: ${FAULT_KINDS.join(', ')})`);
  }
  if (options.rate !== undefined && !(options.rate >= 0 && options.rate <= 1)) throw new RangeError('fault rate must be from 0 to 1');
  return options;
}
