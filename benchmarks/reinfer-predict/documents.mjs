// Generated documents: a lazy Readable of `n` seed-002-shaped documents (~450 B each), drawn
// from a pool of distinct texts so that the emulator's prediction cache keeps it cheap.
import { Readable } from 'node:stream';

const POOL = 256;
const BODIES = [
  'Hi,\n\nMy order ORD-{n} never arrived, it is still missing. Could you check where it is?',
  'Hello team,\n\nPlease send me the invoice for order #{n} from 2025-03-04, I need it for my records.',
  'Dear support,\n\nThe parcel ORD-{n} arrived damaged and the screen is broken. I want a refund.',
  'Hi Bob,\n\nCould you send me the figures for today? The numbers for account {n} look off.',
  'Thanks a lot, the delivery was great and the service excellent. Order ORD-{n}.',
];

export function documentAt(i) {
  const k = i % POOL;
  return {
    id: i,
    messages: [
      {
        body: { text: BODIES[k % BODIES.length].replace('{n}', String(100000 + k)) },
        subject: { text: `Request ${k}` },
        signature: { text: 'Thanks,\nAlice' },
        from: `customer${k}@example.com`,
        to: ['support@company.com'],
        sent_at: '2020-01-09T16:34:45Z',
      },
    ],
    timestamp: '2020-01-09T16:34:45.000000+00:00',
    user_properties: { 'string:City': 'London' },
  };
}

export function documents(n) {
  let i = 0;
  return new Readable({
    objectMode: true,
    highWaterMark: 64,
    read() {
      this.push(i < n ? documentAt(i++) : null);
    },
  });
}
