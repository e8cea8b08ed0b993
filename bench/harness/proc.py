"""proc - run a client under measurement, and run the ossemu servers.

Owns: one measured run (wall time around fork..exit, the client's user+sys
CPU and peak RSS from os.wait4's rusage, the server's CPU from its
/proc/<pid>/stat ticks before and after), and the lifetime of the ossemu
processes the harness starts (it stops only those, by the PIDs it holds).

Why wait4: its rusage is the child's own usage plus that of every
descendant the child waited for (Linux RUSAGE_BOTH), so a wrapper script
(sh -> aws, sh -> N curls) is charged for all of its processes.  Peak RSS
from it is the largest single process of that tree, not a sum: for the
curl ceiling that is one curl; for everyone else it is the uploader itself.
How the client is started so that its ru_maxrss is its own: see _LAUNCH.

Threading: single-threaded; a run's timeout uses a timer thread that only
kills the run's own process group.
"""
import ctypes
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid):
    """utime+stime of a process (all its threads) in seconds, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    # Fields after the command name, which may contain spaces and ')'.
    rest = s[s.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


_subreaper = None


def _become_subreaper():
    """Makes this process the reaper of its orphaned descendants (Linux
    PR_SET_CHILD_SUBREAPER), once; returns whether that worked."""
    global _subreaper
    if _subreaper is None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _subreaper = libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
        except (OSError, AttributeError):
            _subreaper = False
    return _subreaper


# Why a launcher shell: a process exec'd straight from this Python inherits
# Python's own peak RSS in ru_maxrss (Linux folds the pre-exec address space's
# high-water mark into the process's maxrss at exec, and fork or vfork hands
# the child that address space), so every client would show at least the
# harness's ~30 MiB.  Instead a small shell starts the client in the
# background and exits at once: the client is forked from the shell's tiny
# address space, with a fresh maxrss, and is re-parented to this process (a
# subreaper), which then wait4()s the client itself.  The shell is a session
# leader, so the client stays in its process group for a timeout's killpg.
_LAUNCH = 'o=$1; e=$2; shift 2; "$@" >"$o" 2>"$e" </dev/null & echo $!'


def run_measured(argv, env=None, timeout=600, cwd=None, servers=()):
    """Runs argv to completion and measures it.

    Returns a dict: rc, wall_s, user_s, sys_s, cpu_s, maxrss_kib,
    server_cpu_s, stdout, stderr (both text, stderr truncated), timed_out,
    clean_rss (False when the fallback launch was used: see above)."""
    out = tempfile.NamedTemporaryFile(prefix="hoist-bench-out-", delete=False)
    err = tempfile.NamedTemporaryFile(prefix="hoist-bench-err-", delete=False)
    out.close()
    err.close()
    clean = _become_subreaper()
    s0 = sum(s.cpu_seconds() for s in servers)
    t0 = time.monotonic()
    if clean:
        sh = subprocess.Popen(["/bin/sh", "-c", _LAUNCH, "sh", out.name, err.name] + list(argv),
                              stdout=subprocess.PIPE, env=env, cwd=cwd, start_new_session=True)
        pid = int(sh.stdout.read().strip() or 0)
        sh.stdout.close()
        sh.wait()
        pgid = sh.pid
        if pid <= 0:
            raise RuntimeError(f"could not start {argv[0]}")
    else:
        with open(out.name, "wb") as fo, open(err.name, "wb") as fe:
            p = subprocess.Popen(argv, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, env=env,
                                 cwd=cwd, start_new_session=True)
        pid = pgid = p.pid
    timed_out = threading.Event()

    def kill():
        timed_out.set()
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        while True:
            try:
                _, status, ru = os.wait4(pid, 0)
                break
            except InterruptedError:
                continue
    finally:
        timer.cancel()
    wall = time.monotonic() - t0
    s1 = sum(s.cpu_seconds() for s in servers)
    rc = os.waitstatus_to_exitcode(status)
    if not clean:
        p.returncode = rc  # so Popen does not wait again
    with open(out.name, "rb") as f:
        stdout = f.read().decode(errors="replace")
    with open(err.name, "rb") as f:
        stderr = f.read().decode(errors="replace")
    os.unlink(out.name)
    os.unlink(err.name)
    return {
        "rc": rc,
        "wall_s": wall,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "maxrss_kib": ru.ru_maxrss,
        "server_cpu_s": s1 - s0,
        "stdout": stdout,
        "stderr": stderr[-4000:],
        "timed_out": timed_out.is_set(),
        "clean_rss": clean,
    }


def last_json_line(text):
    """The last line of text that parses as a JSON object, else None."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    # A pretty-printed object spanning several lines.
    i = text.find("{")
    if i >= 0:
        try:
            return json.loads(text[i:])
        except ValueError:
            pass
    return None


def find_key(obj, key):
    """The first value under key anywhere in a nested JSON object."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find_key(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find_key(v, key)
            if r is not None:
                return r
    return None


class Ossemu:
    """One ossemu process the harness started; stopped by its own PID."""

    def __init__(self, binary, args, port=0, name="ossemu"):
        self.name = name
        self.cmd = [binary, "--host", "127.0.0.1", "--port", str(port)] + list(args)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=self.log,
                                     text=True, start_new_session=True)
        line = self._first_line(15)
        prefix = "ossemu listening on "
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(f"{name} did not start ({line.strip()!r}): {self.stderr()[-500:]}")
        self.url = line[len(prefix):].strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _first_line(self, timeout):
        box = []
        t = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout)
        return box[0] if box else ""

    def _drain(self):
        try:
            for _ in self.proc.stdout:
                pass
        except (OSError, ValueError):
            pass

    def stderr(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def cpu_seconds(self):
        return proc_cpu_seconds(self.proc.pid) or 0.0

    def stats(self):
        try:
            with urllib.request.urlopen(self.url + "/-/stats", timeout=10) as r:
                return json.loads(r.read())
        except (OSError, ValueError):
            return None

    def bytes_in(self):
        s = self.stats()
        v = find_key(s, "bytes_in") if s is not None else None
        return int(v) if isinstance(v, (int, float)) else None

    def head(self, bucket, key):
        """Anonymous HEAD (the server runs with --anonymous): (status, headers)."""
        from urllib.parse import quote
        req = urllib.request.Request(f"{self.url}/{bucket}/{quote(key, safe='/')}", method="HEAD")
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}
        except OSError:
            return None, {}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def no_proxy_env(base):
    """A copy of base without proxy and cloud-credential variables that would
    send loopback traffic elsewhere or change a peer's behaviour."""
    env = dict(base)
    for k in list(env):
        lk = k.lower()
        if lk in ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy") or \
           k.startswith("AWS_") or k.startswith("OSS_") or k.startswith("RCLONE_"):
            del env[k]
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env
