/**
 * The emulated Innerworks dataset: records generated on demand from (seed, index), so memory
 * stays constant for any record count. Only the time layout (a list of segments) is stored.
 *
 * Layout: records come in groups of {@link TIE_SIZE} that share one millisecond, so ties fall on
 * page boundaries; inside a group the order is by `requestId`, as the vendor's checkpoint
 * `(timestamp, requestId)` implies. Each `append(n)` opens a new segment that starts strictly
 * after the last record, so a cursor that follows checkpoints never skips or repeats a record.
 */
import { hash32 } from './http-util.js';

/** Records sharing one millisecond. */
export const TIE_SIZE = 3;

interface Segment {
  /** Index of the segment's first record. */
  first: number;
  count: number;
  /** Timestamp of the first group, ms. */
  startTs: number;
  /** Milliseconds between consecutive groups. */
  stepMs: number;
}

const BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Edge', 'Opera', 'Brave', 'Samsung Internet'];
const OSES = ['Windows', 'macOS', 'Linux', 'Android', 'iOS', 'ChromeOS'];
const COUNTRIES: Array<[string, string]> = [
  ['United States', 'US'],
  ['United States', 'US'],
  ['United States', 'US'],
  ['Canada', 'CA'],
  ['United Kingdom', 'GB'],
  ['Germany', 'DE'],
  ['France', 'FR'],
  ['Japan', 'JP'],
  ['Brazil', 'BR'],
  ['India', 'IN'],
  ['Australia', 'AU'],
  ['Netherlands', 'NL'],
];
const US_STATES = ['NY', 'CA', 'TX', 'FL', 'WA', 'IL', 'MA', 'CO', 'GA', 'OR'];
const VPN_PROVIDERS = ['NordVPN', 'ExpressVPN', 'Surfshark', 'ProtonVPN', 'Mullvad', 'CyberGhost'];
const VPN_LOCATIONS = ['CA', 'NL', 'CH', 'SE', 'SG', 'DE', 'GB', 'US'];
const VPN_REASONS = ['IP analysis', 'Known VPN exit node', 'Timezone mismatch', 'WebRTC leak', 'Latency triangulation'];

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex8 = (v: number) => HEX[v >>> 24] + HEX[(v >>> 16) & 255] + HEX[(v >>> 8) & 255] + HEX[v & 255];

/**
 * Distinct result bodies (fingerprinting + geolocation) drawn from by hash of the index: a
 * record is its id and time plus one of these, so a page is generated at several hundred MB/s.
 */
const BODY_POOL_SIZE = 4096;

export class InnerworksDataset {
  private readonly segments: Segment[] = [];
  private readonly projectId: string;
  private readonly bodies: Buffer[];
  private readonly maxBodyBytes: number;
  /** `","projectId":"…","timestamp":"`: between a record's id and its time. */
  private readonly prefix: Buffer;
  private total = 0;

  constructor(
    private readonly seed: number,
    records: number,
    baseTime: number,
    stepMs: number,
  ) {
    if (records > 0) this.segments.push({ first: 0, count: records, startTs: baseTime, stepMs });
    this.total = records;
    this.projectId = `project-${100 + (seed % 900)}`;
    this.bodies = Array.from({ length: BODY_POOL_SIZE }, (_, i) => Buffer.from(renderBody(hash32(seed, i, 1))));
    this.maxBodyBytes = Math.max(...this.bodies.map((body) => body.length));
    this.prefix = Buffer.from(`","projectId":"${this.projectId}","timestamp":"`);
  }

  get size(): number {
    return this.total;
  }

  /** Timestamp (ms) of the last record, or undefined when empty. */
  lastTimestamp(): number | undefined {
    return this.total === 0 ? undefined : this.timestampOf(this.total - 1);
  }

  /** Add `n` records in a new segment starting at max(now, last + 1), one group per ms. */
  append(n: number, now = Date.now()): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError('append(n) needs a non-negative integer');
    if (n === 0) return;
    const last = this.lastTimestamp();
    const startTs = last === undefined ? now : Math.max(now, last + 1);
    this.segments.push({ first: this.total, count: n, startTs, stepMs: 1 });
    this.total += n;
  }

  timestampOf(index: number): number {
    const segment = this.segmentOf(index);
    return segment.startTs + Math.floor((index - segment.first) / TIE_SIZE) * segment.stepMs;
  }

  /** Index of the first record with timestamp >= `ts` (== size when none). */
  firstAtOrAfter(ts: number): number {
    // Binary search for the first segment whose last timestamp is >= ts.
    let low = 0;
    let high = this.segments.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const segment = this.segments[mid];
      const lastTs = segment.startTs + Math.floor((segment.count - 1) / TIE_SIZE) * segment.stepMs;
      if (lastTs < ts) low = mid + 1;
      else high = mid;
    }
    if (low === this.segments.length) return this.total;
    const segment = this.segments[low];
    const group = Math.max(0, Math.ceil((ts - segment.startTs) / segment.stepMs));
    return segment.first + group * TIE_SIZE;
  }

  /** Index of the first record strictly after the position `(ts, requestId)`. */
  firstAfter(ts: number, requestId: string): number {
    let index = this.firstAtOrAfter(ts);
    while (index < this.total && this.timestampOf(index) === ts && this.requestIdOf(index) <= requestId) index++;
    return index;
  }

  /** The request id of a record: ids of a tie group are sorted, so their order is the index order. */
  requestIdOf(index: number): string {
    const segment = this.segmentOf(index);
    const groupFirst = index - ((index - segment.first) % TIE_SIZE);
    return this.groupIds(groupFirst, segment)[index - groupFirst];
  }

  /** The record at `index` serialized as JSON, with the fields of seed 000. */
  recordJson(index: number): string {
    return this.recordsJson(index, index + 1).toString('utf8');
  }

  /**
   * Records [first, end) serialized and comma-separated, written straight into one Buffer a tie
   * group at a time (ids and time shared): no per-record strings to collect, so a 5000-record
   * page is generated in a few ms.
   */
  recordsJson(first: number, end: number): Buffer {
    const out = Buffer.allocUnsafe(Math.max(0, end - first) * (this.maxBodyBytes + this.prefix.length + 80));
    let offset = 0;
    let index = first;
    while (index < end) {
      const segment = this.segmentOf(index);
      const groupFirst = index - ((index - segment.first) % TIE_SIZE);
      const ids = this.groupIds(groupFirst, segment);
      const timestamp = new Date(this.timestampOf(groupFirst)).toISOString();
      const groupEnd = Math.min(groupFirst + ids.length, end);
      for (; index < groupEnd; index++) {
        if (index > first) out[offset++] = 0x2c; // ','
        offset += out.write('{"requestId":"', offset, 'latin1');
        offset += out.write(ids[index - groupFirst], offset, 'latin1');
        offset += this.prefix.copy(out, offset);
        offset += out.write(timestamp, offset, 'latin1');
        offset += out.write('",', offset, 'latin1');
        offset += this.bodies[hash32(this.seed, index, 5) % BODY_POOL_SIZE].copy(out, offset);
      }
    }
    return out.subarray(0, offset);
  }

  /** The sorted request ids of the tie group starting at `groupFirst`. */
  private groupIds(groupFirst: number, segment: Segment): string[] {
    const groupEnd = Math.min(groupFirst + TIE_SIZE, segment.first + segment.count);
    const ids: string[] = [];
    for (let i = groupFirst; i < groupEnd; i++) ids.push(this.rawId(i));
    return ids.sort();
  }

  private rawId(index: number): string {
    const ha = hash32(this.seed, index, 11);
    const hb = hash32(ha, 12);
    const hc = hash32(hb, 13);
    const hd = hash32(hc, 14);
    const b = hex8(hb);
    const c = hex8(hc);
    return `${hex8(ha)}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${'89ab'[hc >>> 30]}${c.slice(1, 4)}-${c.slice(4, 8)}${hex8(hd)}`;
  }

  private segmentOf(index: number): Segment {
    if (index < 0 || index >= this.total) throw new RangeError(`no record ${index}`);
    let low = 0;
    let high = this.segments.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (this.segments[mid].first <= index) low = mid;
      else high = mid - 1;
    }
    return this.segments[low];
  }
}

/** `"result":{...}}`: the rest of a record after its timestamp, from one hash. */
function renderBody(h: number): string {
  const h2 = hash32(h, 2);
  const h3 = hash32(h2, 3);
  const [country, countryCode] = COUNTRIES[h % COUNTRIES.length];
  const vpn = h2 % 3 === 0;
  const trueIp = ipAddress(h3, (h2 >>> 8) % 4 === 0);
  const requestIp = vpn ? ipAddress(hash32(h3, 4), (h2 >>> 12) % 5 === 0) : trueIp;
  let geo = '';
  if (vpn) geo += `"vpnDetectionReasons":"${VPN_REASONS[(h2 >>> 4) % VPN_REASONS.length]}",`;
  geo += `"vpnIsEnabled":${vpn},"trueGeoLocationName":"${country}","trueGeoLocationCode":"${countryCode}",`;
  if (vpn) {
    geo += `"vpnProvider":"${VPN_PROVIDERS[(h2 >>> 16) % VPN_PROVIDERS.length]}","vpnLocationCode":"${VPN_LOCATIONS[(h2 >>> 20) % VPN_LOCATIONS.length]}",`;
  }
  if (countryCode === 'US') geo += `"stateUS":"${US_STATES[(h >>> 8) % US_STATES.length]}",`;
  geo += `"trueUserIpAddress":"${trueIp}","requestIpAddress":"${requestIp}"`;
  return (
    `"result":{"fingerprinting":{"browser":"${BROWSERS[(h >>> 12) % BROWSERS.length]}","fingerprint":"${hex8(h3)}${hex8(h2)}",` +
    `"deviceOs":"${OSES[(h >>> 16) % OSES.length]}","socialId":"user-${((h ^ h3) >>> 0) % 100000}"},"geolocation":{${geo}}}}`
  );
}

function ipAddress(h: number, v6: boolean): string {
  if (v6) {
    const h2 = hash32(h, 6);
    const groups = [0x2001, 0x0db8, h >>> 16, h & 0xffff, h2 >>> 16, h2 & 0xffff, (h ^ h2) >>> 20, h2 & 0xfff];
    return groups.map((g) => g.toString(16)).join(':');
  }
  return `${1 + ((h >>> 24) % 223)}.${(h >>> 16) & 255}.${(h >>> 8) & 255}.${1 + ((h & 255) % 254)}`;
}
