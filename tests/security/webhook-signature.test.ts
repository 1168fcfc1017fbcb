import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '@/server/ml/random';
import { signWebhook } from '@/server/services/notifications/signature';
import { repoRoot } from '../helpers/datasets';

/**
 * The webhook signature checked against things the project did not compute: a vector computed
 * with Python's hmac module, the documented formula recomputed over raw bytes, and the receiver
 * snippet of server/services/notifications/README.md run as it is written there.
 */
const SECRET = 'whsec_MfKQ9r8GKYqrTVkR0P1pZ5Ub8yQvI3cF2kZr7gE1DnA';
const TIMESTAMP = '1764547200';
const BODY = '{"id":"0f0e","event":"test","message":"café ☕"}';
/** python3 -c 'import hmac,hashlib; print(hmac.new(SECRET, (TIMESTAMP + "." + BODY).encode(), hashlib.sha256).hexdigest())' */
const PYTHON_VECTOR = 'sha256=3a716535ae62a4705957d889c4c97da27db91836f4aa596dc7c4f35cd65c9040';

type Verdict = 'valid' | 'duplicate' | 'invalid';
type Receiver = (secret: string, headers: Record<string, string | undefined>, rawBody: string | Buffer, toleranceSeconds?: number, now?: number) => Verdict;

/** The README's receiver, written to a module of its own (each import gets a fresh `seen` map). */
let loads = 0;
async function readmeReceiver(): Promise<Receiver> {
  const readme = readFileSync(path.join(repoRoot, 'server/services/notifications/README.md'), 'utf8');
  const code = /### Verifying a request \(Node\)[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!code) throw new Error('the README has no ```js receiver snippet under "Verifying a request (Node)"');
  const dir = path.join(repoRoot, 'tests/.tmp/webhook-receiver');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `receiver-${process.pid}-${++loads}.mjs`);
  writeFileSync(file, code);
  return ((await import(pathToFileURL(file).href)) as { verifyStagebook: Receiver }).verifyStagebook;
}

describe('webhook signatures: an independent vector and what a receiver must refuse', () => {
  it('matches a vector computed by another implementation (Python hmac)', () => {
    expect(signWebhook(SECRET, TIMESTAMP, BODY)).toBe(PYTHON_VECTOR);
  });

  it('node:crypto HMAC-SHA256 agrees with RFC 4231 test case 2 (so the recomputation below can be trusted)', () => {
    expect(createHmac('sha256', 'Jefe').update('what do ya want for nothing?').digest('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('is HMAC-SHA256(secret, "<timestamp>.<raw body bytes>") for seeded random secrets, timestamps and bodies', () => {
    const rng = seededRandom(13);
    const chars = 'abc{}":,.\\ é☕😀\n\u0000';
    for (let i = 0; i < 200; i++) {
      const secret = `whsec_${Array.from({ length: 1 + rng.int(60) }, () => chars[rng.int(chars.length)]).join('')}`;
      const ts = String(rng.int(2 ** 31));
      const body = Array.from({ length: rng.int(300) }, () => chars[rng.int(chars.length)]).join('');
      const bytes = Buffer.concat([Buffer.from(ts, 'ascii'), Buffer.from([0x2e]), Buffer.from(body, 'utf8')]);
      expect(signWebhook(secret, ts, body)).toBe(`sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(bytes).digest('hex')}`);
    }
  });

  describe("the README's receiver", () => {
    let verify: Receiver;
    const now = 1_764_547_200;
    const delivery = (id: string, at = now, body = JSON.stringify({ id, event: 'test', message: 'x' })) => ({
      body,
      headers: { 'x-stagebook-timestamp': String(at), 'x-stagebook-signature': signWebhook(SECRET, String(at), body), 'x-stagebook-delivery': id },
    });
    beforeAll(async () => {
      verify = await readmeReceiver();
    });

    it('accepts a genuine request once, then calls the same delivery a duplicate (a replay inside the window)', () => {
      const d = delivery('11111111-1111-4111-8111-111111111111');
      expect(verify(SECRET, d.headers, d.body, 300, now)).toBe('valid');
      expect(verify(SECRET, d.headers, d.body, 300, now + 60)).toBe('duplicate');
      // A replay that changes the unsigned delivery header is still the same signed id.
      expect(verify(SECRET, { ...d.headers, 'x-stagebook-delivery': 'something-else' }, d.body, 300, now + 61)).toBe('duplicate');
    });

    it('accepts the raw body as a Buffer of the bytes received', () => {
      const d = delivery('22222222-2222-4222-8222-222222222222', now, JSON.stringify({ id: '22222222-2222-4222-8222-222222222222', message: 'café ☕' }));
      expect(verify(SECRET, d.headers, Buffer.from(d.body, 'utf8'), 300, now)).toBe('valid');
    });

    it.each([
      ['a body with one character changed', (d: ReturnType<typeof delivery>) => ({ ...d, body: d.body.replace('"x"', '"y"') })],
      ['the same JSON re-serialised with spaces', (d: ReturnType<typeof delivery>) => ({ ...d, body: JSON.stringify(JSON.parse(d.body), null, 1) })],
      ['a fresh timestamp on an old signature', (d: ReturnType<typeof delivery>) => ({ ...d, headers: { ...d.headers, 'x-stagebook-timestamp': String(now + 1) } })],
      ['no signature', (d: ReturnType<typeof delivery>) => ({ ...d, headers: { ...d.headers, 'x-stagebook-signature': undefined as unknown as string } })],
      ['an upper-case hex signature', (d: ReturnType<typeof delivery>) => ({ ...d, headers: { ...d.headers, 'x-stagebook-signature': d.headers['x-stagebook-signature'].toUpperCase().replace('SHA256=', 'sha256=') } })],
      ['a truncated signature', (d: ReturnType<typeof delivery>) => ({ ...d, headers: { ...d.headers, 'x-stagebook-signature': d.headers['x-stagebook-signature'].slice(0, 40) } })],
      ['no timestamp', (d: ReturnType<typeof delivery>) => ({ ...d, headers: { ...d.headers, 'x-stagebook-timestamp': undefined as unknown as string } })],
      ['a timestamp in exponent notation', (d: ReturnType<typeof delivery>) => ({ ...d, headers: { ...d.headers, 'x-stagebook-timestamp': '1.7645472e9' } })],
    ])('refuses %s', (_what, tamper) => {
      const d = tamper(delivery(`t-${Math.random()}`));
      expect(verify(SECRET, d.headers, d.body, 300, now)).toBe('invalid');
    });

    it('refuses a correctly signed request older or newer than 5 minutes, and accepts one at the edge', () => {
      const stale = delivery('stale', now - 301);
      expect(verify(SECRET, stale.headers, stale.body, 300, now)).toBe('invalid');
      const future = delivery('future', now + 301);
      expect(verify(SECRET, future.headers, future.body, 300, now)).toBe('invalid');
      const edge = delivery('edge', now - 300);
      expect(verify(SECRET, edge.headers, edge.body, 300, now)).toBe('valid');
    });

    it('refuses a request signed with another channel’s secret', () => {
      const d = delivery('other-secret');
      expect(verify(`${SECRET}x`, d.headers, d.body, 300, now)).toBe('invalid');
      expect(verify(SECRET.slice(0, -1), d.headers, d.body, 300, now)).toBe('invalid');
    });
  });
});
