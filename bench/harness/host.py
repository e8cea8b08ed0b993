"""host - the facts about the machine that a benchmark number needs beside it.

Owns: CPU model, core count, kernel, memory, library versions (pkg-config
--modversion), tool and peer versions, and the short sanitized host name
used in the results directory name.  Nothing here writes a path of this
machine into the results: versions and names only.
"""
import os
import platform
import re
import shutil
import socket
import subprocess

LIBS = ["libcurl", "openssl", "libisal", "hwloc", "expat", "libmicrohttpd"]


def _run(argv, timeout=20):
    """First line of a command's stdout+stderr, or None if it cannot run."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    out = (p.stdout or "") + (p.stderr or "")
    out = out.strip()
    return out.splitlines()[0].strip() if out else None


def short_hostname():
    """A short host name safe for a directory name: [a-z0-9-], <= 24 chars."""
    name = socket.gethostname().split(".")[0].lower()
    name = re.sub(r"[^a-z0-9-]+", "-", name).strip("-")[:24]
    return name or "host"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_mib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return None


def dpkg_version(pkg):
    v = _run(["dpkg-query", "-W", "-f=${Version}", pkg])
    return v if v and "no packages" not in v.lower() else None


def node_module_version(top, name):
    import json
    try:
        with open(os.path.join(top, "build", "node", "node_modules", name, "package.json")) as f:
            return json.load(f).get("version")
    except (OSError, ValueError):
        return None


def facts(top):
    """Everything recorded under "host" in results.json."""
    libs = {}
    for lib in LIBS:
        libs[lib] = _run(["pkg-config", "--modversion", lib])
    tools = {
        "curl": _run(["curl", "--version"]),
        "gnuplot": _run(["gnuplot", "--version"]) if shutil.which("gnuplot") else None,
        "iperf3": _run(["iperf3", "--version"]) if shutil.which("iperf3") else None,
        "python3": _run(["/usr/bin/python3", "--version"]),
    }
    peers = {
        "python3-awscrt": dpkg_version("python3-awscrt"),
        "aws-cli": _run(["/usr/bin/aws", "--version"]) if os.path.exists("/usr/bin/aws") else None,
        "rclone": _run(["rclone", "version"]) if shutil.which("rclone") else None,
        "node": _run(["node", "--version"]) if shutil.which("node") else None,
        "ali-oss": node_module_version(top, "ali-oss"),
    }
    return {
        "hostname": short_hostname(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "os": _os_release(),
        "mem_total_mib": mem_total_mib(),
        "libraries": libs,
        "tools": tools,
        "peers": peers,
    }


def _os_release():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()
