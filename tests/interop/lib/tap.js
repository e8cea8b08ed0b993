// tap.js - minimal TAP producer for the node interop tests.
//
// Owns: numbering, "ok N - name" / "not ok N - name" lines with a short
// diagnostic, the closing "1..N" plan and the exit code, so tests/run.sh
// can count cases.  A case that throws is a failure, never a crash that
// hides the cases after it.  Single-threaded (node event loop).
'use strict';

class Tap {
  constructor() {
    this.n = 0;
    this.failed = 0;
  }

  ok(cond, name, detail) {
    this.n += 1;
    if (cond) {
      console.log(`ok ${this.n} - ${name}`);
    } else {
      this.failed += 1;
      console.log(`not ok ${this.n} - ${name}`);
      if (detail !== undefined && detail !== '') {
        for (const line of String(detail).split('\n').slice(0, 40)) {
          console.log(`#   ${line}`);
        }
      }
    }
    return !!cond;
  }

  eq(got, want, name) {
    const show = v => (typeof v === 'bigint' ? `${v}n` : JSON.stringify(v));
    return this.ok(got === want, name, `got:  ${show(got)}\nwant: ${show(want)}`);
  }

  // Records a thrown error as a failed case named after the step.
  fail(name, err) {
    const code = err && err.code ? ` code=${err.code}` : '';
    const status = err && err.status !== undefined ? ` status=${err.status}` : '';
    const msg = err && err.message ? String(err.message).slice(0, 400) : String(err);
    return this.ok(false, name, `threw:${status}${code} ${msg}`);
  }

  comment(text) {
    console.log(`# ${text}`);
  }

  done() {
    console.log(`1..${this.n}`);
    process.exitCode = this.failed ? 1 : 0;
  }
}

module.exports = { Tap };
