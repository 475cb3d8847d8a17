#!/usr/bin/env node
// mint.mjs: an independent JWT minter built on jose (not libjwt, not
// OpenSSL's C API), so paywalld's verifier can be tested against tokens it
// did not make itself.
//
//   node mint.mjs --alg ALG --key FILE --kid ID --sub S [--ent a,b] [--iss I]
//                 [--aud A] [--ttl 3600] [--exp-offset N] [--nbf-offset N]
//                 [--iat-offset N] [--now UNIX]
//     Prints a compact JWS with header {"alg","kid","typ":"JWT"} and claims
//     sub, iat, exp and, when given, nbf, iss, aud, entitlements (an array;
//     --ent '' gives []). Times are seconds: iat = now + iat-offset,
//     exp = now + exp-offset when given, else iat + ttl, nbf = now +
//     nbf-offset. FILE is a PKCS#8 PEM private key (RS*, PS*, ES*, EdDSA)
//     or, for HS*, one line of base64url secret as `paywallctl keys
//     generate` writes it.
//
//   node mint.mjs --genkey ALG --out DIR --kid ID
//     Generates a key with jose and writes DIR/ID.pem (PKCS#8, mode 0600;
//     DIR/ID.key with the base64url secret for HS*), never overwriting a
//     file, and prints the public JWK (with kid, alg and use) on stdout.
//
// Exit status: 0 done, 1 failed, 2 usage error.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SignJWT, base64url, exportJWK, exportPKCS8, generateKeyPair, generateSecret, importPKCS8,
} from 'jose';

const ALGS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512',
];
const KID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

class UsageError extends Error {}

function int(name, value, fallback) {
  if (value === undefined) return fallback;
  if (!/^[+-]?[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--${name}: expected an integer number of seconds, got '${value}'`);
  }
  return Number(value);
}

function need(opts, names) {
  for (const n of names) {
    if (opts[n] === undefined || opts[n] === '') throw new UsageError(`--${n} is required`);
  }
  if (!ALGS.includes(opts.alg ?? opts.genkey)) {
    throw new UsageError(`expected an alg among ${ALGS.join('|')}`);
  }
}

async function signingKey(alg, file) {
  const text = readFileSync(file, 'utf8');
  if (alg.startsWith('HS')) {
    const line = text.trim();
    if (!/^[A-Za-z0-9_-]+$/.test(line)) throw new Error(`${file}: not a base64url secret`);
    return base64url.decode(line);
  }
  return importPKCS8(text, alg);
}

async function mint(o) {
  need(o, ['alg', 'key', 'kid', 'sub']);
  const now = int('now', o.now, Math.floor(Date.now() / 1000));
  const iat = now + int('iat-offset', o['iat-offset'], 0);
  const claims = {
    sub: o.sub,
    iat,
    exp: o['exp-offset'] !== undefined ? now + int('exp-offset', o['exp-offset'])
      : iat + int('ttl', o.ttl, 3600),
  };
  if (o['nbf-offset'] !== undefined) claims.nbf = now + int('nbf-offset', o['nbf-offset']);
  if (o.iss !== undefined) claims.iss = o.iss;
  if (o.aud !== undefined) claims.aud = o.aud;
  if (o.ent !== undefined) claims.entitlements = o.ent === '' ? [] : o.ent.split(',');
  const key = await signingKey(o.alg, o.key);
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: o.alg, kid: o.kid, typ: 'JWT' })
    .sign(key);
  process.stdout.write(`${token}\n`);
}

async function genkey(o) {
  need(o, ['genkey', 'out', 'kid']);
  if (!KID.test(o.kid)) {
    throw new UsageError('--kid: expected 1 to 64 characters of [A-Za-z0-9._-]');
  }
  const alg = o.genkey;
  let jwk;
  if (alg.startsWith('HS')) {
    const secret = await generateSecret(alg, { extractable: true });
    jwk = await exportJWK(secret);
    writeFileSync(join(o.out, `${o.kid}.key`), `${jwk.k}\n`, { mode: 0o600, flag: 'wx' });
  } else {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    writeFileSync(join(o.out, `${o.kid}.pem`), await exportPKCS8(privateKey),
      { mode: 0o600, flag: 'wx' });
    jwk = await exportJWK(publicKey);
  }
  const pub = { kty: jwk.kty, kid: o.kid, use: 'sig', alg, ...jwk };
  process.stdout.write(`${JSON.stringify(pub)}\n`);
}

const FLAGS = [
  'genkey', 'out', 'alg', 'key', 'kid', 'sub', 'ent', 'iss', 'aud', 'ttl',
  'exp-offset', 'nbf-offset', 'iat-offset', 'now',
];

// Every flag takes the next argument as its value, even one starting with
// '-' (--exp-offset -60), which node:util's parseArgs would refuse.
function parse(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : '';
    if (!FLAGS.includes(name)) throw new UsageError(`unexpected argument '${argv[i]}'`);
    if (i + 1 >= argv.length) throw new UsageError(`missing value for '${argv[i]}'`);
    if (o[name] !== undefined) throw new UsageError(`repeated argument '${argv[i]}'`);
    o[name] = argv[i + 1];
  }
  return o;
}

try {
  const o = parse(process.argv.slice(2));
  await (o.genkey !== undefined ? genkey(o) : mint(o));
} catch (e) {
  process.stderr.write(`mint.mjs: ${e.message}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
}
