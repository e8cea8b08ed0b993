// test_alioss_list.js - interop: ossemu's listings of odd key names, read by
// the real Alibaba OSS Node client (npm ali-oss 6.23.0, in build/node), so
// that a real OSS client agrees with our server (issue 16); and hoist's own
// `ls -r --json` checked against the same reference.
//
// Owns: list (V1) and listV2 over keys with spaces, '+', '%41', UTF-8,
// 'a-b' beside 'a/b', '&', '<', '>', quotes, a key ending in '/', each of
// its own size; with and without encoding-type=url, with and without a
// delimiter, paged by max-keys 1, 2 and 7 (markers / continuation tokens
// fed back as a client would), and start-after.  Each listing is compared
// with a reference computed here (UTF-8 byte order, prefixes rolled up),
// names, order, common prefixes and sizes; with encoding-type=url the raw
// document must say <EncodingType>url</EncodingType> and encode what
// oss-get-list-delete.md section 4.3 says OSS encodes.  Single-threaded
// (node event loop).
//
// Run: NODE_PATH=build/node/node_modules node tests/interop/test_alioss_list.js
'use strict';

const childProcess = require('child_process');
const path = require('path');

const { Tap } = require('./lib/tap');
const alioss = require('./lib/alioss');
const ossemu = require('./lib/ossemu');

const BUCKET = 'listing';
const AK = 'listak';
const SK = 'list-secret-0123456789';
const TOP = path.resolve(__dirname, '..', '..');
const HOIST = process.env.HOIST_BIN || path.join(TOP, 'build', 'hoist');
const ROOT = 'odd/';
const NAMES = ['a/1', 'a/2', 'a/b/3', 'a-b', 'a/b', 'ab', 'a/', 'c', 'd e+f', '%41', 'A', 'x&y', 'lt<gt>',
  'q"uo\'te', 'amp&lt;', 'z/\u00fc', '\u65e5\u672c/\u8a9e', 'sp ace/x', 'plus+/y', 'end/', 'end/in', '~t']
  .map(n => ROOT + n);

const t = new Tap();

const byBytes = (x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y));
// Each key's body is its index + 1 bytes: sizes tell the entries apart.
const sizeOf = new Map(NAMES.map((n, i) => [n, i + 1]));

// The listing a correct server gives: byte order, a delimiter rolling keys
// up into "P:" prefixes, after startAfter.
function reference(delim, startAfter) {
  const out = [];
  for (const n of NAMES.slice().sort(byBytes)) {
    if (startAfter && byBytes(n, startAfter) <= 0) continue;
    const rest = n.slice(ROOT.length);
    const i = delim ? rest.indexOf(delim) : -1;
    const item = i >= 0 ? `P:${ROOT}${rest.slice(0, i + delim.length)}` : `K:${n}:${sizeOf.get(n)}`;
    if (out[out.length - 1] !== item) out.push(item);
  }
  return out;
}

function client(srv) {
  return alioss.client(srv, { bucket: BUCKET, accessKeyId: AK, accessKeySecret: SK });
}

// RFC 3986 as OSS writes it (oss-get-list-delete.md 4.3: '+' as %2B).
const rfc3986 = s => encodeURIComponent(s).replace(/[!'()*]/g, ch => '%' + ch.charCodeAt(0).toString(16).toUpperCase());

// Every page of one listing; returns { items, pages, raws }.
async function listAll(c, v2, enc, delim, maxKeys, startAfter) {
  const items = [];
  const raws = [];
  const seen = new Set();
  let marker = null;
  let pages = 0;
  const dec = s => (enc ? decodeURIComponent(s) : s);
  for (;;) {
    const q = { prefix: ROOT, 'max-keys': maxKeys };
    if (delim) q.delimiter = delim;
    if (enc) q['encoding-type'] = 'url';
    let r;
    if (v2) {
      if (startAfter) q['start-after'] = startAfter;
      if (marker) q['continuation-token'] = marker;
      r = await c.listV2(q);
    } else {
      q.marker = marker || startAfter || undefined;
      if (!q.marker) delete q.marker;
      r = await c.list(q);
    }
    raws.push(Buffer.from(r.res.data || '').toString());
    const page = (r.objects || []).map(o => `K:${dec(o.name)}:${o.size}`)
      .concat((r.prefixes || []).map(p => `P:${dec(p)}`));
    // Objects and prefixes come apart: merged by name (not by ':size').
    const nameOf = it => (it[0] === 'K' ? it.slice(2, it.lastIndexOf(':')) : it.slice(2));
    page.sort((x, y) => byBytes(nameOf(x), nameOf(y)));
    for (const it of page) {
      if (seen.has(it)) items.push(`DUPLICATE ${it}`);
      seen.add(it);
      items.push(it);
    }
    pages++;
    if (page.length > maxKeys) items.push(`PAGE OF ${page.length} > max-keys ${maxKeys}`);
    if (!r.isTruncated || pages > 60) break;
    marker = v2 ? r.nextContinuationToken : dec(r.nextMarker);
    if (!marker) {
      items.push('TRUNCATED WITHOUT A MARKER');
      break;
    }
  }
  return { items, pages, raws };
}

function hoistLs(srv) {
  const p = childProcess.spawnSync(HOIST, ['ls', '-r', '--json', `oss://${BUCKET}/${ROOT}`, '--endpoint', srv.url],
    {
      env: Object.assign({}, process.env, { OSS_ACCESS_KEY_ID: AK, OSS_ACCESS_KEY_SECRET: SK }),
      encoding: 'utf8',
      timeout: 60000,
    });
  const lines = (p.stdout || '').split('\n').filter(Boolean).map(l => JSON.parse(l));
  return { status: p.status, stderr: p.stderr, items: lines.map(o => `K:${o.key}:${o.size}`) };
}

async function main() {
  const srv = await ossemu.start({ buckets: [BUCKET], keys: [`${AK}:${SK}`] });
  try {
    const c = client(srv);
    for (const n of NAMES) {
      await c.put(n, Buffer.alloc(sizeOf.get(n), 'x'));
    }
    for (const v2 of [false, true]) {
      for (const enc of [false, true]) {
        for (const delim of [null, '/']) {
          for (const mk of [1, 2, 7]) {
            const name = `ali-oss ${v2 ? 'listV2' : 'list'}${enc ? ' encoding-type=url' : ''}` +
              `${delim ? ' delimiter /' : ''} max-keys ${mk}`;
            const w = reference(delim, null);
            let got;
            try {
              got = await listAll(c, v2, enc, delim, mk, null);
            } catch (e) {
              t.fail(name, e);
              continue;
            }
            t.ok(JSON.stringify(got.items) === JSON.stringify(w) && got.pages === Math.ceil(w.length / mk),
              `${name}: names, byte order, prefixes, sizes equal the reference in ${Math.ceil(w.length / mk)} pages`,
              `got  ${JSON.stringify(got.items)} (${got.pages} pages)\nwant ${JSON.stringify(w)}`);
            if (mk !== 7) continue;
            const raw = got.raws.join('\n');
            if (enc) {
              // What OSS encodes: Key and Prefix (and Delimiter, the tokens),
              // RFC 3986, '/' included.
              const wantPrefix = `<Prefix>${rfc3986(ROOT)}</Prefix>`;
              const wantDelim = delim ? `<Delimiter>${rfc3986(delim)}</Delimiter>` : '';
              t.ok(raw.includes('<EncodingType>url</EncodingType>') && raw.includes(wantPrefix) &&
                raw.includes(wantDelim) &&
                !/<(Key|Prefix|Marker|NextMarker|StartAfter)>[^<]*[ +&/][^<]*<\/\1>/.test(raw) &&
                (!v2 || !delim || raw.includes('<CommonPrefixes><Prefix>odd%2F')),
              `${name}: the document says EncodingType url; Prefix${delim ? ', Delimiter' : ''} and ` +
                'keys, markers and common prefixes RFC 3986-encoded', raw.slice(0, 700));
            } else {
              t.ok(!raw.includes('<EncodingType>') && raw.includes(`<Prefix>${ROOT}</Prefix>`) &&
                raw.includes('x&amp;y') && raw.includes('lt&lt;gt&gt;'),
              `${name}: no EncodingType; keys as XML text ('&' and '<' escaped as entities)`, raw.slice(0, 700));
            }
          }
        }
      }
    }
    // start-after (V2) and marker (V1) on a key that sorts among the others.
    for (const v2 of [false, true]) {
      for (const enc of [false, true]) {
        const after = `${ROOT}a-b`;
        const name = `ali-oss ${v2 ? 'listV2 start-after' : 'list marker'} '${after}'` +
          `${enc ? ' encoding-type=url' : ''}, max-keys 4`;
        try {
          const got = await listAll(c, v2, enc, null, 4, after);
          const w = reference(null, after);
          t.ok(JSON.stringify(got.items) === JSON.stringify(w), `${name}: only the keys after it, in order`,
            `got  ${JSON.stringify(got.items)}\nwant ${JSON.stringify(w)}`);
        } catch (e) {
          t.fail(name, e);
        }
      }
    }
    const h = hoistLs(srv);
    const w = reference(null, null);
    t.ok(h.status === 0 && JSON.stringify(h.items) === JSON.stringify(w),
      'hoist ls -r --json: the same keys, order and sizes as the reference (and so as ali-oss)',
      `exit ${h.status} ${h.stderr}\ngot  ${JSON.stringify(h.items)}\nwant ${JSON.stringify(w)}`);
  } catch (e) {
    t.fail('the cases ran to the end', e);
  } finally {
    const code = await srv.stop();
    t.eq(code, 0, 'ossemu exits 0 on SIGTERM');
    if (t.failed && srv.stderr.trim()) {
      for (const line of srv.stderr.trim().split('\n').slice(-20)) {
        t.comment(line);
      }
    }
  }
}

main().catch(e => t.fail('test harness', e)).finally(() => t.done());
