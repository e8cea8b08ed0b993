// alioss.js - an ali-oss client for a loopback ossemu, as the node interop
// tests make it (test_alioss.js, test_alioss_list.js).
//
// Owns: the options every such client shares: an IP endpoint (path style;
// ali-oss still sends Host: <bucket>.oss-cn-hangzhou.aliyuncs.com), plain
// HTTP, a 30 s timeout.  The caller gives bucket and keys (and any other
// option) in opts.  Single-threaded (node event loop).
'use strict';

const OSS = require('ali-oss');

function client(srv, opts) {
  return new OSS(Object.assign({
    // Only to silence ali-oss's advice to refresh STS tokens (no refresher here).
    refreshSTSTokenInterval: 3600000,
    endpoint: srv.url,
    region: 'oss-cn-hangzhou',
    sldEnable: true,
    secure: false,
    timeout: 30000,
  }, opts));
}

module.exports = { client };
