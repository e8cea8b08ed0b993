// ossemu.js - start and stop a real ossemu process for the node interop tests
// (the node twin of the Ossemu class in tests/lib/hoisttest.py).
//
// Owns: spawning build/ossemu (or $OSSEMU_BIN) on 127.0.0.1 with a free port
// and a fresh data directory, reading its first stdout line
// "ossemu listening on http://127.0.0.1:PORT", fetching /-/stats, and
// stopping it (SIGTERM, then SIGKILL) - also when the test process exits
// early, so no server outlives its test.  Single-threaded (node event loop).
'use strict';

const childProcess = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const TOP = path.resolve(__dirname, '..', '..', '..');
const BIN = process.env.OSSEMU_BIN || path.join(TOP, 'build', 'ossemu');
const PREFIX = 'ossemu listening on ';

// The server makes outgoing requests (upload callbacks) to 127.0.0.1: a proxy
// inherited from the environment must not capture them.
function serverEnv() {
  const env = Object.assign({}, process.env);
  for (const k of Object.keys(env)) {
    if (/^(https?|all|no)_proxy$/i.test(k)) {
      delete env[k];
    }
  }
  return env;
}

class Ossemu {
  constructor(proc, url, dataDir) {
    this.proc = proc;
    this.url = url;
    this.port = Number(url.slice(url.lastIndexOf(':') + 1));
    this.dataDir = dataDir;
    this.stderr = '';
  }

  stats() {
    return new Promise((resolve, reject) => {
      http.get(`${this.url.replace(/^https:/, 'http:')}/-/stats`, res => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', d => { body += d; });
        res.on('end', () => {
          try {
            resolve(JSON.parse(body));
          } catch (e) {
            reject(e);
          }
        });
      }).on('error', reject);
    });
  }

  // Resolves with the exit code (or signal name) once the process is gone.
  stop() {
    const p = this.proc;
    const cleanup = () => {
      if (this.dataDir) {
        fs.rmSync(this.dataDir, { recursive: true, force: true });
        this.dataDir = null;
      }
    };
    if (p.exitCode !== null || p.signalCode !== null) {
      cleanup();
      return Promise.resolve(p.exitCode !== null ? p.exitCode : p.signalCode);
    }
    return new Promise(resolve => {
      const killer = setTimeout(() => p.kill('SIGKILL'), 20000);
      p.once('exit', (code, sig) => {
        clearTimeout(killer);
        cleanup();
        resolve(code !== null ? code : sig);
      });
      p.kill('SIGTERM');
    });
  }
}

// start({buckets, keys, args}) -> Promise<Ossemu>.
function start(opts) {
  const o = Object.assign({ buckets: ['bkt'], keys: ['ak:sk'], args: [] }, opts || {});
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ossemu-'));
  const argv = ['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir];
  for (const b of o.buckets) {
    argv.push('--bucket', b);
  }
  for (const k of o.keys) {
    argv.push('--key', k);
  }
  argv.push(...o.args);
  const proc = childProcess.spawn(BIN, argv, { env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  // A test that dies must not leave its server behind.
  const reap = () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
    }
  };
  process.on('exit', reap);

  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    let srv = null;
    const failStart = why => {
      clearTimeout(timer);
      reap();
      fs.rmSync(dataDir, { recursive: true, force: true });
      reject(new Error(`ossemu did not start (${why}): stdout=${JSON.stringify(out.slice(0, 200))} stderr=${err.slice(0, 2000)}`));
    };
    const timer = setTimeout(() => failStart('no listening line within 15 s'), 15000);
    proc.on('error', e => failStart(e.message));
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', d => {
      if (srv) {
        srv.stderr = (srv.stderr + d).slice(-65536);
      } else {
        err += d;
      }
    });
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', d => {
      if (srv) {
        return; // keep draining: stats at exit must not block on a full pipe
      }
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) {
        return;
      }
      const line = out.slice(0, nl).trim();
      if (!line.startsWith(PREFIX)) {
        failStart('unexpected first line');
        return;
      }
      clearTimeout(timer);
      srv = new Ossemu(proc, line.slice(PREFIX.length), dataDir);
      srv.stderr = err;
      resolve(srv);
    });
    proc.on('exit', (code, sig) => {
      if (!srv) {
        failStart(`exited with ${code !== null ? code : sig}`);
      }
    });
  });
}

module.exports = { start, BIN };
