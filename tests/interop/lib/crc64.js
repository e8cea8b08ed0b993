// crc64.js - an independent CRC-64/XZ (the OSS x-oss-hash-crc64ecma) for the
// interop tests.
//
// Owns: a plain table-driven, reflected CRC-64 written from the published
// parameters (poly 0x42F0E1EBA9EA3693, reflected 0xC96C5795D7870F42, init
// and xorout all ones), sharing nothing with hoist's ISA-L based C code, so a
// test that compares the two proves something.  The 64-bit register is kept
// as two unsigned 32-bit halves: BigInt per byte would make a few MiB take
// seconds.  Single-threaded like all node code.
'use strict';

const POLY_HI = 0xC96C5795;
const POLY_LO = 0xD7870F42;

// One table entry per byte value: eight shift-and-conditional-xor steps.
const TAB_HI = new Uint32Array(256);
const TAB_LO = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let hi = 0;
  let lo = n;
  for (let k = 0; k < 8; k++) {
    const lsb = lo & 1;
    lo = ((lo >>> 1) | (hi << 31)) >>> 0;
    hi = hi >>> 1;
    if (lsb) {
      hi = (hi ^ POLY_HI) >>> 0;
      lo = (lo ^ POLY_LO) >>> 0;
    }
  }
  TAB_HI[n] = hi;
  TAB_LO[n] = lo;
}

// update(prev, buf): like Go's crc64.Update and ISA-L's crc64_ecma_refl, the
// previous value is a finalised CRC (0 to start), so streaming is
// crc = update(crc, chunk) and the result is directly the header value.
function update(prev, buf) {
  const p = BigInt.asUintN(64, BigInt(prev));
  let hi = Number(p >> 32n) ^ 0xFFFFFFFF;
  let lo = Number(p & 0xFFFFFFFFn) ^ 0xFFFFFFFF;
  hi >>>= 0;
  lo >>>= 0;
  for (let i = 0; i < buf.length; i++) {
    const idx = (lo ^ buf[i]) & 0xFF;
    lo = (((lo >>> 8) | (hi << 24)) ^ TAB_LO[idx]) >>> 0;
    hi = ((hi >>> 8) ^ TAB_HI[idx]) >>> 0;
  }
  hi = (hi ^ 0xFFFFFFFF) >>> 0;
  lo = (lo ^ 0xFFFFFFFF) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

// crc64(buf) as a decimal string, the form of x-oss-hash-crc64ecma.
function crc64(buf) {
  return update(0n, buf).toString();
}

module.exports = { update, crc64 };
