/**
 * Benchmark: `pnpm --filter @exora/crypto bench`. Not a test; numbers go into the README by hand.
 *
 * 1. Encrypt + decrypt of a 256-byte token through FieldCipher (string in, `ex1.` text out, AAD
 *    bound, strict parsing) against bare node:crypto AES-256-GCM (Buffer in, Buffer out,
 *    `crypto.randomBytes(12)` IV per value, no AAD, no encoding), which does less work than the
 *    package. All run in the same process, interleaved round by round; ratio = package / bare.
 *    For transparency a second baseline draws its IVs from a pool like the package does, which
 *    shows how much of the package's margin is its nonce pool.
 * 2. Argon2id hashes per second with PASSWORD_PARAMS, sequential and two at a time.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';
import { cpus } from 'node:os';
import {
  FieldCipher,
  hashPassword,
  Keyring,
  PASSWORD_PARAMS,
  verifyPassword,
} from '../src/index.ts';

const ROUNDS = 15;
const OPS_PER_ROUND = 20_000;
const WARMUP_OPS = 20_000;

const key = randomBytes(32);
const cipher = new FieldCipher(new Keyring({ keys: [{ id: 'k1', key }], activeKeyId: 'k1' }));
const context = {
  table: 'oauth_tokens',
  column: 'access_token',
  rowId: '0191d3f0-7c1a-7b2e-9f00-5a1e2c3d4e5f',
};
const token = randomBytes(192).toString('base64'); // 256 ASCII characters = 256 bytes
const tokenBytes = Buffer.from(token, 'utf8');
if (tokenBytes.length !== 256) throw new Error('token must be 256 bytes');

let sink = 0;

function bareRoundTrip(): void {
  const iv = randomBytes(12);
  const enc = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  const ct = Buffer.concat([enc.update(tokenBytes), enc.final()]);
  const tag = enc.getAuthTag();
  const dec = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  dec.setAuthTag(tag);
  const pt = Buffer.concat([dec.update(ct), dec.final()]);
  sink += pt.length;
}

const ivPool = Buffer.allocUnsafe(12 * 256);
let ivOffset = ivPool.length;
function bareRoundTripPooledIv(): void {
  if (ivOffset === ivPool.length) {
    randomFillSync(ivPool);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + 12);
  ivOffset += 12;
  const enc = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  const ct = Buffer.concat([enc.update(tokenBytes), enc.final()]);
  const tag = enc.getAuthTag();
  const dec = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  dec.setAuthTag(tag);
  const pt = Buffer.concat([dec.update(ct), dec.final()]);
  sink += pt.length;
}

function packageRoundTrip(): void {
  const value = cipher.encrypt(token, context);
  sink += cipher.decrypt(value, context).length;
}

// Sanity: both really round-trip.
packageRoundTrip();
bareRoundTrip();
if (cipher.decrypt(cipher.encrypt(token, context), context) !== token) throw new Error('broken');

function opsPerSecond(fn: () => void, ops: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return ops / seconds;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

console.log(`@exora/crypto benchmark — ${new Date().toISOString()}`);
console.log(
  `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${process.platform}/${process.arch}`,
);
console.log('');
console.log(
  `AES-256-GCM encrypt+decrypt of a 256-byte token: ${ROUNDS} rounds x ${fmt(OPS_PER_ROUND)} round trips, after ${fmt(WARMUP_OPS)} warm-up each`,
);

opsPerSecond(bareRoundTrip, WARMUP_OPS);
opsPerSecond(bareRoundTripPooledIv, WARMUP_OPS);
opsPerSecond(packageRoundTrip, WARMUP_OPS);

const contenders = [
  { name: 'bare', fn: bareRoundTrip, results: [] as number[] },
  { name: 'bare, pooled IVs', fn: bareRoundTripPooledIv, results: [] as number[] },
  { name: 'FieldCipher', fn: packageRoundTrip, results: [] as number[] },
];
for (let r = 0; r < ROUNDS; r++) {
  // Rotate the order so drift on a shared machine hits all sides alike.
  for (let i = 0; i < contenders.length; i++) {
    const c = contenders[(r + i) % contenders.length]!;
    c.results.push(opsPerSecond(c.fn, OPS_PER_ROUND));
  }
  const [b, bp, p] = contenders.map((c) => c.results[r]!) as [number, number, number];
  console.log(
    `  round ${String(r + 1).padStart(2)}: bare ${fmt(b)}, bare pooled-IV ${fmt(bp)}, FieldCipher ${fmt(p)} ops/s; ratio ${(p / b).toFixed(2)}x (${(p / bp).toFixed(2)}x vs pooled)`,
  );
}
const [bare, pooled, pkg] = contenders.map((c) => c.results) as [number[], number[], number[]];
const medianRatio = (xs: number[], ys: number[]) => median(xs.map((x, i) => x / ys[i]!));
console.log(`  median ops/s: bare node:crypto ${fmt(median(bare))}`);
console.log(`  median ops/s: bare node:crypto, pooled IVs ${fmt(median(pooled))} (informational)`);
console.log(`  median ops/s: FieldCipher ${fmt(median(pkg))}`);
console.log(
  `  ratio FieldCipher / bare: ${medianRatio(pkg, bare).toFixed(2)}x (median of per-round ratios; target >= 0.80x)`,
);
console.log(
  `  ratio FieldCipher / bare with pooled IVs: ${medianRatio(pkg, pooled).toFixed(2)}x (informational)`,
);
console.log('');

const HASHES = 20;
const p = PASSWORD_PARAMS;
console.log(
  `Argon2id m=${p.memoryCost} KiB, t=${p.timeCost}, p=${p.parallelism}, ${p.outputLen}-byte hash, ${p.saltLen}-byte salt`,
);
await hashPassword('warm-up password');
let start = performance.now();
for (let i = 0; i < HASHES; i++) await hashPassword(`password-${i}`);
let seconds = (performance.now() - start) / 1000;
console.log(
  `  sequential: ${HASHES} hashes in ${seconds.toFixed(2)} s = ${(HASHES / seconds).toFixed(1)} hashes/s (${((seconds / HASHES) * 1000).toFixed(1)} ms each)`,
);
start = performance.now();
for (let i = 0; i < HASHES; i += 2) {
  await Promise.all([hashPassword(`password-${i}`), hashPassword(`password-${i + 1}`)]);
}
seconds = (performance.now() - start) / 1000;
console.log(
  `  two at a time: ${HASHES} hashes in ${seconds.toFixed(2)} s = ${(HASHES / seconds).toFixed(1)} hashes/s`,
);
const stored = await hashPassword('verify me');
start = performance.now();
for (let i = 0; i < HASHES; i++) await verifyPassword('verify me', stored);
seconds = (performance.now() - start) / 1000;
console.log(
  `  verify (sequential): ${(HASHES / seconds).toFixed(1)} verifications/s (${((seconds / HASHES) * 1000).toFixed(1)} ms each)`,
);
if (sink === 0) console.log('');
