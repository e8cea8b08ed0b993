// test_alioss.js - interop: the real Alibaba OSS Node client (npm ali-oss
// 6.23.0, installed by `make deps` into build/node) against a real ossemu.
//
// Owns: proving that ossemu speaks OSS as ali-oss expects it - V1 and V4
// header signatures, path-style requests carrying the
// "Host: <bucket>.oss-<region>.aliyuncs.com" ali-oss sends to an IP endpoint,
// put/get/head, multipartUpload with parallel 4, listParts paging, abort,
// signature errors, STS tokens, presigned URLs (V1 and V4),
// x-oss-forbid-overwrite, Complete errors, upload callbacks (the
// receiver's JSON must come back through ali-oss), list and listV2 of odd
// key names paged by 3 (with and without encoding-type=url) against a
// byte-order reference computed here, and deleteMulti.  Every byte read back, ETag and
// x-oss-hash-crc64ecma is compared with values computed here with node's
// crypto and the independent CRC-64/XZ of lib/crc64.js, never with hoist's
// code.  Runs on the node event loop (single-threaded); the callback
// receiver is an http server in this same process.
//
// Run: NODE_PATH=build/node/node_modules node tests/interop/test_alioss.js
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const { Tap } = require('./lib/tap');
const alioss = require('./lib/alioss');
const ossemu = require('./lib/ossemu');
const { crc64 } = require('./lib/crc64');

const BUCKET = 'interop';
const AK = 'interopak';
const SK = 'interop-secret-0123456789';
const STS_AK = 'interopstsak';
const STS_SK = 'interop-sts-secret';
const STS_TOKEN = 'interop-sts-token/with+odd=chars';
const KIB = 1024;

const t = new Tap();

// Deterministic pseudo-random bytes (AES-CTR keystream of a seed), so a
// failure reproduces and no two parts are equal.
function bytes(n, seed) {
  const key = crypto.createHash('sha256').update(`hoist-interop-${seed}`).digest().subarray(0, 16);
  const c = crypto.createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

function md5Upper(buf) {
  return crypto.createHash('md5').update(buf).digest('hex').toUpperCase();
}

// OSS object and part ETag: quoted upper-case hex MD5.
function ossEtag(buf) {
  return `"${md5Upper(buf)}"`;
}

// OSS final multipart ETag (oss-protocol.md §4.3): MD5 over the concatenated
// upper-case hex part ETags (not the raw digests as in S3), upper-case, "-N".
function ossMultipartEtag(parts) {
  const hexes = parts.map(md5Upper).join('');
  return `"${md5Upper(Buffer.from(hexes, 'ascii'))}-${parts.length}"`;
}

function split(buf, partSize) {
  const out = [];
  for (let off = 0; off < buf.length; off += partSize) {
    out.push(buf.subarray(off, Math.min(off + partSize, buf.length)));
  }
  return out;
}

function client(srv, extra) {
  return alioss.client(srv, Object.assign({ bucket: BUCKET, accessKeyId: AK, accessKeySecret: SK }, extra || {}));
}

async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    t.fail(name, e);
  }
}

// Expects fn() to reject with an OSS error of this code and HTTP status.
async function expectError(name, fn, code, status) {
  try {
    await fn();
    t.ok(false, name, `succeeded, want ${status} ${code}`);
    return null;
  } catch (e) {
    t.ok(e.code === code && e.status === status, name,
      `got:  ${e.status} ${e.code} ${String(e.message).slice(0, 200)}\nwant: ${status} ${code}`);
    return e;
  }
}

function hdr(res, name) {
  return res && res.headers ? res.headers[name] : undefined;
}

// Checks a put/get/head/complete response's ETag and CRC64 headers.
function checkSums(res, wantEtag, wantCrc, what) {
  t.eq(hdr(res, 'etag'), wantEtag, `${what}: ETag equals the MD5 computed here`);
  t.eq(hdr(res, 'x-oss-hash-crc64ecma'), wantCrc, `${what}: x-oss-hash-crc64ecma equals CRC-64/XZ computed here`);
}

// The upload-callback receiver: records each request and answers JSON that
// echoes what it got, so the test can see it come back through ali-oss.
function startReceiver() {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', d => { body += d; });
    req.on('end', () => {
      const rec = { method: req.method, url: req.url, headers: req.headers, body };
      seen.push(rec);
      const form = Object.fromEntries(new URLSearchParams(body));
      const reply = JSON.stringify({ Status: 'OK', n: seen.length, form });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(reply) });
      res.end(reply);
    });
  });
  return new Promise(resolve => {
    server.listen(0, '127.0.0.1', () => resolve({ server, seen, port: server.address().port }));
  });
}

// A loopback port with nothing listening on it (bound, then closed).
function deadPort() {
  return new Promise(resolve => {
    const s = http.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

// A plain GET (no ali-oss involved) of a presigned URL.
function httpGet(url) {
  return new Promise((resolve, reject) => {
    http.get(url, res => {
      const chunks = [];
      res.on('data', d => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

function xmlCode(body) {
  const m = /<Code>([^<]*)<\/Code>/.exec(body.toString('utf8'));
  return m ? m[1] : null;
}

const CB_TEMPLATE = 'bucket=${bucket}&object=${object}&size=${size}&etag=${etag}' +
  '&crc=${crc64}&mime=${mimeType}&v=${x:var1}&w=${x:var2}';
const CB_VAR1 = 'hello world & more=1/2';
const CB_VAR2 = '\u00fcnicode+plus';

// Checks what the receiver got for an upload of `buf` stored as `key`.
function checkCallbackRequest(rec, key, size, etag, crc, mime, path0, what) {
  if (!t.ok(rec !== undefined, `${what}: the receiver got a request`)) {
    return;
  }
  t.eq(rec.method, 'POST', `${what}: callback is a POST`);
  t.eq(rec.url, path0, `${what}: callback path and query from callbackUrl`);
  t.eq(rec.headers.host, 'cb.example.test', `${what}: Host header from callbackHost`);
  t.ok(/^application\/x-www-form-urlencoded/.test(rec.headers['content-type'] || ''),
    `${what}: form-urlencoded Content-Type by default`, `got ${rec.headers['content-type']}`);
  const f = Object.fromEntries(new URLSearchParams(rec.body));
  t.eq(f.bucket, BUCKET, `${what}: \${bucket} substituted`);
  t.eq(f.object, key, `${what}: \${object} substituted (URL-encoded in the form)`);
  t.eq(f.size, String(size), `${what}: \${size} is the object size`);
  // Whether OSS quotes ${etag} is unconfirmed (oss-protocol.md §5.1): the hex
  // must match, quotes are tolerated.
  t.eq(String(f.etag).replace(/"/g, '').toUpperCase(), etag.replace(/"/g, ''), `${what}: \${etag} is the object ETag`);
  t.eq(f.crc, crc, `${what}: \${crc64} is the object CRC64`);
  t.eq(f.mime, mime, `${what}: \${mimeType} is the Content-Type sent`);
  t.eq(f.v, CB_VAR1, `${what}: \${x:var1} from x-oss-callback-var, special characters intact`);
  t.eq(f.w, CB_VAR2, `${what}: \${x:var2} non-ASCII and '+' intact`);
}

async function main() {
  // Self-checks of this file's independent references (oss-protocol.md §9, §4.3).
  t.eq(crc64(Buffer.from('123456789')), '11051210869376104954', 'reference CRC-64/XZ check value');
  t.eq(ossMultipartEtag([Buffer.alloc(102400, 0x61), Buffer.alloc(1000, 0x62)]),
    '"090978F3FDABF992C84535BA4A870EE0-2"', 'reference OSS multipart ETag formula vector');

  const srv = await ossemu.start({ buckets: [BUCKET], keys: [`${AK}:${SK}`, `${STS_AK}:${STS_SK}:${STS_TOKEN}`] });
  const rcv = await startReceiver();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alioss-'));
  let uploaded = 0;
  try {
    const c = client(srv);

    // --- put / get / head (V1) ---
    const small = bytes(300 * KIB + 17, 'small');
    const smallEtag = ossEtag(small);
    const smallCrc = crc64(small);
    await step('put (V1)', async () => {
      const r = await c.put('put/small.bin', small);
      uploaded += small.length;
      t.eq(r.res.status, 200, 'put (V1): 200');
      checkSums(r.res, smallEtag, smallCrc, 'put (V1)');
      t.ok(/^\S+$/.test(hdr(r.res, 'x-oss-request-id') || ''), 'put (V1): x-oss-request-id present',
        `got ${hdr(r.res, 'x-oss-request-id')}`);
    });
    await step('get (V1)', async () => {
      const r = await c.get('put/small.bin');
      t.ok(Buffer.compare(r.content, small) === 0, 'get (V1): bytes read back equal the bytes put',
        `got ${r.content.length} bytes, md5 ${md5Upper(r.content)}; want ${small.length}, ${md5Upper(small)}`);
      checkSums(r.res, smallEtag, smallCrc, 'get (V1)');
    });
    await step('get range', async () => {
      const r = await c.get('put/small.bin', { headers: { Range: 'bytes=1000-70999' } });
      t.eq(r.res.status, 206, 'get range: 206');
      t.ok(Buffer.compare(r.content, small.subarray(1000, 71000)) === 0, 'get range: bytes 1000-70999 equal',
        `got ${r.content.length} bytes`);
      t.eq(hdr(r.res, 'content-range'), `bytes 1000-70999/${small.length}`, 'get range: Content-Range');
    });
    await step('head (V1)', async () => {
      const r = await c.head('put/small.bin');
      t.eq(r.status, 200, 'head (V1): 200');
      t.eq(hdr(r.res, 'content-length'), String(small.length), 'head (V1): Content-Length');
      checkSums(r.res, smallEtag, smallCrc, 'head (V1)');
      t.ok(!Number.isNaN(Date.parse(hdr(r.res, 'last-modified') || '')), 'head (V1): Last-Modified is a date',
        `got ${hdr(r.res, 'last-modified')}`);
    });
    const oddKey = 'dir/\u00fcn\u00efc\u00f6de key+%25 (1)~!.txt';
    await step('put/get odd key', async () => {
      const body = bytes(4321, 'odd');
      const r = await c.put(oddKey, body);
      uploaded += body.length;
      checkSums(r.res, ossEtag(body), crc64(body), 'put odd key (non-ASCII, space, +, %)');
      const g = await c.get(oddKey);
      t.ok(Buffer.compare(g.content, body) === 0, 'get odd key: bytes equal');
    });
    await step('put from file (stream with Content-Length)', async () => {
      const body = bytes(777 * KIB + 3, 'file');
      const f = path.join(tmp, 'file.bin');
      fs.writeFileSync(f, body);
      const r = await c.put('put/file.bin', f);
      uploaded += body.length;
      checkSums(r.res, ossEtag(body), crc64(body), 'put from file');
      const g = await c.get('put/file.bin');
      t.ok(Buffer.compare(g.content, body) === 0, 'put from file: bytes read back equal');
    });
    await step('putStream chunked', async () => {
      const body = bytes(200 * KIB + 1, 'chunked');
      const f = path.join(tmp, 'chunked.bin');
      fs.writeFileSync(f, body);
      // No contentLength: ali-oss sends Transfer-Encoding: chunked.
      const r = await c.putStream('put/chunked.bin', fs.createReadStream(f, { highWaterMark: 16 * KIB }));
      uploaded += body.length;
      checkSums(r.res, ossEtag(body), crc64(body), 'putStream chunked');
      const g = await c.get('put/chunked.bin');
      t.ok(Buffer.compare(g.content, body) === 0, 'putStream chunked: bytes read back equal');
    });
    await step('head missing', async () => {
      await expectError('head of a missing key: 404 NoSuchKey', () => c.head('put/none.bin'), 'NoSuchKey', 404);
    });

    // --- multipartUpload, parallel 4, 11 parts (V1) ---
    const PART = 128 * KIB;
    const big = bytes(10 * PART + 12345, 'big');
    const bigParts = split(big, PART);
    await step('multipartUpload (V1)', async () => {
      let ckpt = null;
      const fileBig = path.join(tmp, 'big.bin');
      fs.writeFileSync(fileBig, big);
      const r = await c.multipartUpload('mp/big.bin', fileBig, {
        parallel: 4,
        partSize: PART,
        progress: async (p, cp) => { if (cp) ckpt = cp; },
      });
      uploaded += big.length;
      t.eq(r.res.status, 200, 'multipartUpload: 200');
      t.eq(bigParts.length, 11, 'multipartUpload: 11 parts planned');
      const done = ckpt ? ckpt.doneParts.slice().sort((a, b) => a.number - b.number) : [];
      t.eq(done.length, 11, 'multipartUpload: 11 parts acknowledged');
      t.ok(done.every((p, i) => p.number === i + 1 && p.etag === ossEtag(bigParts[i])),
        'multipartUpload: every part ETag is the quoted upper-case MD5 of its bytes',
        JSON.stringify(done.slice(0, 3)));
      t.eq(r.etag, ossMultipartEtag(bigParts), 'multipartUpload: final ETag by the OSS formula');
      t.eq(hdr(r.res, 'x-oss-hash-crc64ecma'), crc64(big), 'multipartUpload: whole-object CRC64');
      const h = await c.head('mp/big.bin');
      t.eq(hdr(h.res, 'content-length'), String(big.length), 'multipartUpload: head Content-Length');
      checkSums(h.res, ossMultipartEtag(bigParts), crc64(big), 'multipartUpload: head');
      const g = await c.get('mp/big.bin');
      t.ok(Buffer.compare(g.content, big) === 0, 'multipartUpload: bytes read back equal',
        `got ${g.content.length} bytes, want ${big.length}`);
    });

    // --- initMultipartUpload + uploadPart, listParts paging, overwrite, abort ---
    await step('listParts / abort', async () => {
      const key = 'mp/listed.bin';
      const init = await c.initMultipartUpload(key);
      const id = init.uploadId;
      t.ok(typeof id === 'string' && id.length > 0, 'initMultipartUpload: an upload id', `got ${id}`);
      const parts = [bytes(100 * KIB + 1, 'p1'), bytes(150000, 'p2'), bytes(4321, 'p3')];
      for (let i = 0; i < parts.length; i++) {
        const r = await c.uploadPart(key, id, i + 1, parts[i], 0, parts[i].length);
        uploaded += parts[i].length;
        t.eq(r.etag, ossEtag(parts[i]), `uploadPart ${i + 1}: ETag`);
        t.eq(hdr(r.res, 'x-oss-hash-crc64ecma'), crc64(parts[i]), `uploadPart ${i + 1}: CRC64`);
      }
      const l1 = await c.listParts(key, id, { 'max-parts': 2 });
      t.eq(l1.uploadId, id, 'listParts: UploadId');
      t.eq(l1.isTruncated, 'true', 'listParts max-parts=2: IsTruncated');
      t.eq(String(l1.nextPartNumberMarker), '2', 'listParts max-parts=2: NextPartNumberMarker');
      t.eq(l1.parts.length, 2, 'listParts max-parts=2: two parts');
      const l2 = await c.listParts(key, id, { 'part-number-marker': 2 });
      t.eq(l2.isTruncated, 'false', 'listParts marker=2: not truncated');
      const all = l1.parts.concat(l2.parts);
      t.eq(all.map(p => p.PartNumber).join(','), '1,2,3', 'listParts: pages hold parts 1,2,3');
      t.ok(all.every((p, i) => p.ETag === ossEtag(parts[i]) && p.Size === String(parts[i].length) &&
        p.HashCrc64ecma === crc64(parts[i])), 'listParts: ETag, Size, HashCrc64ecma of every part',
      JSON.stringify(all));
      // Re-uploading a part number overwrites it.
      const p2b = bytes(120000, 'p2b');
      await c.uploadPart(key, id, 2, p2b, 0, p2b.length);
      uploaded += p2b.length;
      const l3 = await c.listParts(key, id);
      const p2 = (l3.parts || []).find(p => p.PartNumber === '2');
      t.ok(l3.parts.length === 3 && p2 && p2.ETag === ossEtag(p2b) && p2.Size === '120000' &&
        p2.HashCrc64ecma === crc64(p2b), 'listParts: a re-uploaded part replaces the old one', JSON.stringify(p2));
      const a = await c.abortMultipartUpload(key, id);
      t.eq(a.res.status, 204, 'abortMultipartUpload: 204');
      await expectError('listParts after abort: 404 NoSuchUpload', () => c.listParts(key, id), 'NoSuchUpload', 404);
      await expectError('uploadPart after abort: 404 NoSuchUpload',
        () => c.uploadPart(key, id, 4, parts[2], 0, parts[2].length), 'NoSuchUpload', 404);
      await expectError('head of the aborted key: 404', () => c.head(key), 'NoSuchKey', 404);
    });

    // --- signature errors ---
    await step('wrong secret', async () => {
      const bad = client(srv, { accessKeySecret: `${SK}x` });
      const e = await expectError('put with a wrong secret (V1): 403 SignatureDoesNotMatch',
        () => bad.put('put/denied.bin', Buffer.from('denied')), 'SignatureDoesNotMatch', 403);
      t.ok(e && /^\S+$/.test(e.requestId || ''), 'SignatureDoesNotMatch: error XML carries a RequestId',
        `got ${e && e.requestId}`);
      await expectError('get with a wrong secret (V1): 403 SignatureDoesNotMatch',
        () => bad.get('put/small.bin'), 'SignatureDoesNotMatch', 403);
      await expectError('denied put stored nothing', () => c.head('put/denied.bin'), 'NoSuchKey', 404);
      const badV4 = client(srv, { accessKeySecret: `${SK}x`, authorizationV4: true });
      await expectError('put with a wrong secret (V4): 403 SignatureDoesNotMatch',
        () => badV4.put('put/denied4.bin', Buffer.from('denied')), 'SignatureDoesNotMatch', 403);
      const unknown = client(srv, { accessKeyId: 'nosuchak' });
      await expectError('unknown access key: 403 InvalidAccessKeyId',
        () => unknown.get('put/small.bin'), 'InvalidAccessKeyId', 403);
      const noBucket = client(srv, { bucket: 'nosuchbucket' });
      await expectError('missing bucket: 404 NoSuchBucket',
        () => noBucket.get('put/small.bin'), 'NoSuchBucket', 404);
    });

    await step('STS token', async () => {
      const sts = client(srv, { accessKeyId: STS_AK, accessKeySecret: STS_SK, stsToken: STS_TOKEN });
      const body = bytes(10000, 'sts');
      const r = await sts.put('sts/obj.bin', body);
      uploaded += body.length;
      checkSums(r.res, ossEtag(body), crc64(body), 'put with an STS token (x-oss-security-token)');
      const g = await sts.get('sts/obj.bin');
      t.ok(Buffer.compare(g.content, body) === 0, 'get with an STS token: bytes equal');
      const sts4 = client(srv, { accessKeyId: STS_AK, accessKeySecret: STS_SK, stsToken: STS_TOKEN, authorizationV4: true });
      const g4 = await sts4.get('sts/obj.bin');
      t.ok(Buffer.compare(g4.content, body) === 0, 'get with an STS token (V4): bytes equal');
      const badTok = client(srv, { accessKeyId: STS_AK, accessKeySecret: STS_SK, stsToken: `${STS_TOKEN}x` });
      await expectError('a wrong STS token: 403 InvalidSecurityToken', () => badTok.get('sts/obj.bin'),
        'InvalidSecurityToken', 403);
      const noTok = client(srv, { accessKeyId: STS_AK, accessKeySecret: STS_SK });
      await expectError('an STS key without its token: 403 InvalidSecurityToken', () => noTok.get('sts/obj.bin'),
        'InvalidSecurityToken', 403);
    });

    // --- presigned URLs, fetched by a plain http GET ---
    await step('presigned V1', async () => {
      // ali-oss refuses to presign for an IP endpoint: sign for the public
      // endpoint (path style), then send the same path and query here.
      const pub = client(srv, { endpoint: 'http://oss-cn-hangzhou.aliyuncs.com' });
      const rebase = u => srv.url + new URL(u).pathname + new URL(u).search;
      const r = await httpGet(rebase(pub.signatureUrl('put/small.bin', { expires: 300 })));
      t.eq(r.status, 200, 'presigned V1 GET: 200');
      t.ok(Buffer.compare(r.body, small) === 0, 'presigned V1 GET: bytes equal');
      t.eq(r.headers['x-oss-hash-crc64ecma'], smallCrc, 'presigned V1 GET: CRC64');
      const bad = client(srv, { endpoint: 'http://oss-cn-hangzhou.aliyuncs.com', accessKeySecret: `${SK}x` });
      const r2 = await httpGet(rebase(bad.signatureUrl('put/small.bin', { expires: 300 })));
      t.eq(`${r2.status} ${xmlCode(r2.body)}`, '403 SignatureDoesNotMatch', 'presigned V1 with a wrong secret: 403 SignatureDoesNotMatch');
      const r3 = await httpGet(rebase(pub.signatureUrl('put/small.bin', { expires: -60 })));
      t.eq(`${r3.status} ${xmlCode(r3.body)}`, '403 AccessDenied', 'presigned V1 expired a minute ago: 403 AccessDenied');
    });
    await step('presigned V4', async () => {
      const u = await client(srv, { authorizationV4: true }).signatureUrlV4('GET', 300, {}, 'put/small.bin');
      const r = await httpGet(u);
      t.eq(r.status, 200, 'presigned V4 GET: 200');
      t.ok(Buffer.compare(r.body, small) === 0, 'presigned V4 GET: bytes equal');
      const ub = await client(srv, { authorizationV4: true, accessKeySecret: `${SK}x` })
        .signatureUrlV4('GET', 300, {}, 'put/small.bin');
      const r2 = await httpGet(ub);
      t.eq(`${r2.status} ${xmlCode(r2.body)}`, '403 SignatureDoesNotMatch', 'presigned V4 with a wrong secret: 403 SignatureDoesNotMatch');
    });

    // --- OSS-only headers and Complete errors ---
    await step('forbid-overwrite', async () => {
      const other = bytes(999, 'other');
      await expectError('put over an existing key with x-oss-forbid-overwrite: 409 FileAlreadyExists',
        () => c.put('put/small.bin', other, { headers: { 'x-oss-forbid-overwrite': 'true' } }), 'FileAlreadyExists', 409);
      const g = await c.get('put/small.bin');
      t.ok(Buffer.compare(g.content, small) === 0, 'forbid-overwrite: the existing object is unchanged');
      const r = await c.put('put/fresh.bin', other, { headers: { 'x-oss-forbid-overwrite': 'true' } });
      uploaded += other.length;
      checkSums(r.res, ossEtag(other), crc64(other), 'put of a new key with x-oss-forbid-overwrite');
    });
    await step('Complete errors', async () => {
      const key = 'mp/errors.bin';
      const id = (await c.initMultipartUpload(key)).uploadId;
      const p1 = bytes(1000, 'e1');
      const p2 = bytes(2000, 'e2');
      const e1 = (await c.uploadPart(key, id, 1, p1, 0, p1.length)).etag;
      const e2 = (await c.uploadPart(key, id, 2, p2, 0, p2.length)).etag;
      uploaded += p1.length + p2.length;
      await expectError('complete with a 1000-byte non-last part: 400 EntityTooSmall',
        () => c.completeMultipartUpload(key, id, [{ number: 1, etag: e1 }, { number: 2, etag: e2 }]), 'EntityTooSmall', 400);
      await expectError('complete with a wrong part ETag: 400 InvalidPart',
        () => c.completeMultipartUpload(key, id, [{ number: 1, etag: `"${'0'.repeat(32)}"` }]), 'InvalidPart', 400);
      await expectError('complete with x-oss-complete-all and a body: 400 InvalidArgument',
        () => c.completeMultipartUpload(key, id, [{ number: 2, etag: e2 }], { headers: { 'x-oss-complete-all': 'yes' } }),
        'InvalidArgument', 400);
      // The upload survived the refused Completes: a single last part completes.
      const r = await c.completeMultipartUpload(key, id, [{ number: 2, etag: e2 }]);
      t.eq(r.etag, ossMultipartEtag([p2]), 'complete with part 2 only: ETag by the OSS formula');
      t.eq(hdr(r.res, 'x-oss-hash-crc64ecma'), crc64(p2), 'complete with part 2 only: CRC64');
      const g = await c.get(key);
      t.ok(Buffer.compare(g.content, p2) === 0, 'complete with part 2 only: the object is part 2');
      await expectError('complete again: 404 NoSuchUpload',
        () => c.completeMultipartUpload(key, id, [{ number: 2, etag: e2 }]), 'NoSuchUpload', 404);
    });

    // --- V4 signing (OSS4-HMAC-SHA256) ---
    const c4 = client(srv, { authorizationV4: true });
    await step('V4 put/get/head', async () => {
      const body = bytes(64 * KIB + 5, 'v4');
      const r = await c4.put('v4/obj.bin', body);
      uploaded += body.length;
      checkSums(r.res, ossEtag(body), crc64(body), 'put (V4)');
      const g = await c4.get('v4/obj.bin');
      t.ok(Buffer.compare(g.content, body) === 0, 'get (V4): bytes equal');
      const h = await c4.head('v4/obj.bin');
      checkSums(h.res, ossEtag(body), crc64(body), 'head (V4)');
      const g2 = await c4.get(oddKey);
      t.eq(g2.res.status, 200, 'get (V4) of a non-ASCII key with space, + and %');
    });
    await step('V4 multipartUpload', async () => {
      const part = 100 * KIB;
      const body = bytes(8 * part + 999, 'v4mp');
      const r = await c4.multipartUpload('v4/mp.bin', body, { parallel: 4, partSize: part });
      uploaded += body.length;
      const ps = split(body, part);
      t.eq(ps.length, 9, 'multipartUpload (V4): 9 parts');
      t.eq(r.etag, ossMultipartEtag(ps), 'multipartUpload (V4): final ETag by the OSS formula');
      t.eq(hdr(r.res, 'x-oss-hash-crc64ecma'), crc64(body), 'multipartUpload (V4): whole-object CRC64');
      const g = await c4.get('v4/mp.bin');
      t.ok(Buffer.compare(g.content, body) === 0, 'multipartUpload (V4): bytes read back equal');
    });

    // --- upload callback ---
    const cbUrl = p => `http://127.0.0.1:${rcv.port}${p}`;
    const cbOpts = p => ({
      url: cbUrl(p),
      host: 'cb.example.test',
      body: CB_TEMPLATE,
      customValue: { var1: CB_VAR1, var2: CB_VAR2 },
    });
    await step('callback on put', async () => {
      const key = 'cb/put one.json';
      const body = bytes(5000, 'cbput');
      const before = rcv.seen.length;
      const r = await c.put(key, body, { callback: cbOpts('/cb/put?src=put&n=1') });
      uploaded += body.length;
      t.eq(r.res.status, 200, 'callback on put: 200');
      checkCallbackRequest(rcv.seen[before], key, body.length, ossEtag(body), crc64(body), 'application/json',
        '/cb/put?src=put&n=1', 'callback on put');
      t.ok(r.data && r.data.Status === 'OK' && r.data.n === before + 1 && r.data.form && r.data.form.object === key,
        'callback on put: the receiver JSON comes back as result.data', JSON.stringify(r.data));
      checkSums(r.res, ossEtag(body), crc64(body), 'callback on put');
      const g = await c.get(key);
      t.ok(Buffer.compare(g.content, body) === 0, 'callback on put: object stored');
    });
    await step('callback on multipart complete', async () => {
      const key = 'cb/mp.bin';
      const part = 100 * KIB;
      const body = bytes(3 * part + 10, 'cbmp');
      const ps = split(body, part);
      const before = rcv.seen.length;
      const r = await c.multipartUpload(key, body, { parallel: 4, partSize: part, mime: 'application/x-hoist',
        callback: cbOpts('/cb/mp') });
      uploaded += body.length;
      t.eq(r.res.status, 200, 'callback on complete: 200');
      checkCallbackRequest(rcv.seen[before], key, body.length, ossMultipartEtag(ps), crc64(body),
        'application/x-hoist', '/cb/mp', 'callback on complete');
      t.ok(r.data && r.data.Status === 'OK' && r.data.form && r.data.form.size === String(body.length),
        'callback on complete: the receiver JSON comes back as result.data', JSON.stringify(r.data));
      checkSums(r.res, ossMultipartEtag(ps), crc64(body), 'callback on complete');
      const g = await c.get(key);
      t.ok(Buffer.compare(g.content, body) === 0, 'callback on complete: object stored');
    });
    await step('callback failure', async () => {
      const port = await deadPort();
      const body = bytes(1234, 'cbfail');
      const e = await expectError('callback to a dead port: 203 CallbackFailed', () => c.put('cb/fail.bin', body, {
        callback: { url: `http://127.0.0.1:${port}/x`, body: 'object=${object}' },
      }), 'CallbackFailed', 203);
      uploaded += body.length;
      t.ok(e !== null, 'callback failure surfaces as an error');
      const g = await c.get('cb/fail.bin');
      t.ok(Buffer.compare(g.content, body) === 0, 'callback failure: the object is still stored');
      checkSums(g.res, ossEtag(body), crc64(body), 'callback failure: stored object');
    });

    // --- listings of odd names, V1 and V2, with and without encoding-type=url ---
    await step('list odd names', async () => {
      const names = ['a/1', 'a/2', 'a/b/3', 'a-b', 'a/b', 'ab', 'a/', 'c', 'd e+f', '%41', 'A',
        'z/\u00fc', '\u65e5\u672c/\u8a9e', 'sp ace/x', 'plus+/y', '~t'].map(n => `tree/${n}`);
      for (const n of names) {
        await c.put(n, Buffer.from(n));
      }
      // Byte order of the UTF-8 bytes (what OSS lists by; 'a-b' < 'a/' < 'ab').
      const sorted = names.slice().sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      const want = (delim) => {
        const out = [];
        for (const n of sorted) {
          const rest = n.slice('tree/'.length);
          const i = delim ? rest.indexOf(delim) : -1;
          const item = i >= 0 ? `P:tree/${rest.slice(0, i + delim.length)}` : `K:${n}`;
          if (out[out.length - 1] !== item) out.push(item);
        }
        return out;
      };
      const dec = (s, enc) => (enc ? decodeURIComponent(s) : s);
      for (const enc of [false, true]) {
        for (const delim of [null, '/']) {
          for (const v2 of [false, true]) {
            const got = [];
            let marker = null;
            let pages = 0;
            for (;;) {
              const q = { prefix: 'tree/', 'max-keys': 3 };
              if (delim) q.delimiter = delim;
              if (enc) q['encoding-type'] = 'url';
              let r;
              if (v2) {
                if (marker) q['continuation-token'] = marker;
                r = await c.listV2(q);
              } else {
                if (marker) q.marker = marker;
                r = await c.list(q);
              }
              const page = (r.objects || []).map(o => `K:${dec(o.name, enc)}`)
                .concat((r.prefixes || []).map(p => `P:${dec(p, enc)}`));
              page.sort((x, y) => Buffer.compare(Buffer.from(x.slice(2)), Buffer.from(y.slice(2))));
              got.push(...page);
              pages++;
              if (!r.isTruncated || pages > 20) break;
              marker = v2 ? r.nextContinuationToken : dec(r.nextMarker, enc);
            }
            const w = want(delim);
            t.ok(JSON.stringify(got) === JSON.stringify(w),
              `ali-oss ${v2 ? 'listV2' : 'list'}${enc ? ' encoding-type=url' : ''}${delim ? ' delimiter /' : ''}: ` +
              `pages of 3 give the byte-ordered listing`, `got  ${JSON.stringify(got)}\nwant ${JSON.stringify(w)}`);
          }
        }
      }
      const r = await c.list({ prefix: 'tree/a', 'max-keys': 100 });
      t.ok(r.objects.every(o => o.type === 'Normal' && o.storageClass === 'Standard' && o.owner.id),
        'ali-oss list: type, storageClass and owner in every entry');
      const r2 = await c.listV2({ prefix: 'tree/c', 'max-keys': 100 });
      t.ok(r2.keyCount === 1 && r2.objects[0].size === Buffer.byteLength('tree/c') && r2.objects[0].owner === null,
        'ali-oss listV2: keyCount, size; no owner without fetch-owner');
      const d = await c.deleteMulti(names.slice(0, 8));
      t.ok(d.res.status === 200 && d.deleted.length === 8 &&
        d.deleted.map(x => x.Key).join('|') === names.slice(0, 8).join('|'),
      'ali-oss deleteMulti (verbose): every key reported deleted, in order',
      JSON.stringify(d.deleted));
      const q = await c.deleteMulti(names.slice(8).concat(['tree/never-there']), { quiet: true });
      t.ok(q.res.status === 200 && q.deleted.length === 0, 'ali-oss deleteMulti quiet: 200, nothing listed');
      const left = await c.list({ prefix: 'tree/' });
      t.ok((left.objects || []).length === 0, 'after deleteMulti the prefix is empty',
        JSON.stringify((left.objects || []).map(o => o.name)));
    });

    await step('stats', async () => {
      const s = await srv.stats();
      t.ok(typeof s.bytes_in === 'number' && s.bytes_in >= uploaded, '/-/stats bytes_in counts every uploaded byte',
        `bytes_in=${s.bytes_in} uploaded=${uploaded}`);
    });
  } finally {
    rcv.server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
    const code = await srv.stop();
    t.eq(code, 0, 'ossemu exits 0 on SIGTERM');
    if (t.failed && srv.stderr.trim()) {
      t.comment('ossemu stderr (tail):');
      for (const line of srv.stderr.trim().split('\n').slice(-30)) {
        t.comment(line);
      }
    }
  }
}

main().catch(e => t.fail('test harness', e)).finally(() => t.done());
