#!/usr/bin/env node
// Upload one file with the real Alibaba OSS Node client (npm ali-oss 6.23, installed into
// build/node by tests/deps.sh) through its multipartUpload, in the OSS dialect.
// usage: NODE_PATH=build/node/node_modules node alioss-upload.js FILE oss://BUCKET/KEY ENDPOINT PARALLEL PART_BYTES
// Credentials: OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET from the environment.
// Prints one JSON line: {"seconds", "bytes", "status"}.
//
// Why the options: an IP endpoint needs sldEnable (path style, /BUCKET/KEY).  ali-oss 6.23
// still sends "Host: BUCKET.oss-<region>.aliyuncs.com" while connecting to the IP, which
// ossemu accepts as virtual-host addressing.  Requests are signed as for Alibaba OSS (V1).
'use strict';
const OSS = require('ali-oss');
const fs = require('fs');

const [file, dest, endpoint, parallel, partBytes] = process.argv.slice(2);
const m = /^oss:\/\/([^/]+)\/(.+)$/.exec(dest || '');
if (!file || !m || !endpoint || !parallel || !partBytes) {
  console.error('usage: alioss-upload.js FILE oss://BUCKET/KEY ENDPOINT PARALLEL PART_BYTES');
  process.exit(2);
}
const client = new OSS({
  endpoint, bucket: m[1],
  accessKeyId: process.env.OSS_ACCESS_KEY_ID,
  accessKeySecret: process.env.OSS_ACCESS_KEY_SECRET,
  region: 'oss-cn-hangzhou', secure: false, timeout: 600000, sldEnable: true,
});
(async () => {
  const size = fs.statSync(file).size;
  const t0 = process.hrtime.bigint();
  try {
    const r = await client.multipartUpload(m[2], file, {
      parallel: parseInt(parallel, 10), partSize: parseInt(partBytes, 10),
    });
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(JSON.stringify({ seconds: dt, bytes: size, status: r.res && r.res.status }));
  } catch (e) {
    // The message and request id only: never the request headers (they carry the signature).
    console.error(`alioss-upload: FAILED: ${e.name} status=${e.status} code=${e.code} ` +
      `requestId=${e.requestId} msg=${String(e.message).slice(0, 300)}`);
    process.exit(1);
  }
})();
