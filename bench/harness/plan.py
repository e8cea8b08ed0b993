"""plan - what each mode measures: the matrix, grouped for fair alternation.

Owns: the smoke, quick and full plans.  A plan is a list of groups; a group
is a set of configurations that are run in alternation (round r runs every
configuration once, the order rotated by r, so A B C, B C A, ...), with
`warmup` rounds discarded and `reps` rounds counted.  Only configurations in
the same group are compared with each other (ratios, plots).

Budget (full, 2 cores): about 30 minutes.  Measured on the 2-core machine:
hoist --checksum crc64 ~1-1.5 GB/s (under 1 s per GiB), --checksum both
~0.3 GB/s (MD5-bound on client and server alike: 3-5 s per GiB), the
slowest peers ~0.15 GB/s (6-9 s per GiB), WAN at jobs 8 ~0.18 GB/s.  A
first full run with 3 counted rounds everywhere took 16 minutes, and the
shared machine's noise showed in the min-max, so (the committed baseline
with this plan took 29 minutes):
  - 1 GiB cells: 1 warm-up round + 5 counted rounds, the whole matrix (part
    8/32 MiB x jobs 8/64/256/512 x crc64/both), LAN and WAN.
  - 8 GiB cells: no warm-up round (the file is read into the page cache
    before the group instead, which is what the warm-up run is for) and 3
    counted rounds; crc64 at every jobs level on LAN (64/256/512 on WAN,
    where 8 only shows the 8 x 25 MB/s shaping limit the 1 GiB runs already
    show) and both at jobs 64 (an 8 GiB both run costs ~25 s).
  - peers at 1 GiB only, LAN and WAN (WAN without rclone's MD5 pre-pass
    variant and without hoist-s3: both add nothing new there).
  - one cold-cache run (8 GiB): every cold run drops the whole page cache
    of a shared machine.
  - the MD5 paths (md5rows.py, after the peers): crc64 beside the default
    mode on each path, 1 warm-up + 5 rounds at 1 GiB (about 1.5 minutes),
    and crc64 / both with only the test file evicted, 3 rounds each.
The groups run most-important-first; a time budget stops starting rounds
past it, so only the 8 GiB tail can be cut, and the summary says so.
Every choice is written into results.json ("plan") and summary.md.
"""

import md5rows  # the MD5-path groups (and their engines)

MiB = 1 << 20
GiB = 1 << 30

# ossemu flags per profile.  WAN: 30 ms before each response's headers and a
# per-connection bandwidth cap of 25 MB/s, so that concurrency matters as it
# does against real OSS (8 connections: at most 200 MB/s).
PROFILES = {
    "LAN": [],
    "WAN": ["--latency", "30", "--conn-bandwidth", "25"],
    # A farther region: 100 ms, 10 MB/s per connection (a 1 GiB upload
    # needs ~100 streams to be bound by the host rather than the path).
    "WAN100": ["--latency", "100", "--conn-bandwidth", "10"],
    # Not ossemu: a single-node Ceph RGW (bench/harness/rgw.py).
    "RGW": [],
}

PEER_ENGINES = ["aws-c-s3", "aws-cli", "rclone", "rclone-nocksum", "ali-oss"]


def cfg(engine, size, part, jobs, checksum="crc64", profile="LAN", cache="warm"):
    return {"engine": engine, "file_bytes": size, "part_size": part, "jobs": jobs,
            "checksum": checksum, "profile": profile, "cache": cache}


def group(name, profile, configs, warmup=1, reps=3, note=""):
    return {"name": name, "profile": profile, "configs": configs, "warmup": warmup,
            "reps": reps, "note": note}


def cold_group(c):
    return {"name": "cold", "profile": c["profile"], "configs": [c], "warmup": 0, "reps": 1,
            "cold": True, "note": "page cache dropped before the one run"}


def peers_group(name, profile, size, part, jobs, curl_jobs, warmup=1, reps=3):
    """hoist (both checksum modes, both dialects) beside every peer and the
    curl transport ceiling: same file, same part size, same concurrency."""
    c = [cfg("hoist", size, part, jobs, "crc64", profile),
         cfg("hoist", size, part, jobs, "both", profile),
         cfg("hoist-s3", size, part, jobs, "crc64", profile),
         cfg("curl-ceiling", size, part, curl_jobs, "none", profile)]
    c += [cfg(e, size, part, jobs, "default", profile) for e in PEER_ENGINES]
    return group(name, profile, c, warmup, reps,
                 f"hoist and peers side by side; the curl ceiling uses {curl_jobs} processes")


def sweep(name, profile, size, parts, jobs_list, checksums, warmup=1, reps=3, curl=True):
    c = []
    for part in parts:
        for jobs in jobs_list:
            for ck in checksums:
                c.append(cfg("hoist", size, part, jobs, ck, profile))
        if curl and profile == "LAN":
            c.append(cfg("curl-ceiling", size, part, 8, "none", profile))
    return group(name, profile, c, warmup, reps, "hoist matrix")


def wan_bars(name, profile, size, part, jobs, warmup=1, reps=3, peers=True):
    """issue 9's bars: hoist's adaptive default (at --jobs 64 and at each
    jobs of the list) beside --fixed-jobs at the same jobs, and the peers
    that open many connections, in alternation on one shaped profile."""
    c = []
    for j in jobs:
        c.append(cfg("hoist", size, part, j, "crc64", profile))
        c.append(cfg("hoist-fixed", size, part, j, "crc64", profile))
    if peers:
        c += [cfg(e, size, part, 64, "default", profile) for e in ("aws-c-s3", "aws-cli")]
    return group(name, profile, c, warmup, reps,
                 "adaptive default vs --fixed-jobs at the same jobs" + (", and peers" if peers else ""))


def lan_bars(name, size, part, warmup=1, reps=3):
    """The LAN side of the bars: the adaptive default beside every fixed
    setting (the best one is the yardstick, at <= 1.1x its CPU)."""
    c = [cfg("hoist", size, part, 64, "crc64", "LAN")]
    c += [cfg("hoist-fixed", size, part, j, "crc64", "LAN") for j in (8, 16, 64, 256)]
    return group(name, "LAN", c, warmup, reps, "adaptive default vs every fixed setting")


def smoke():
    size = 16 * MiB
    return {
        "mode": "smoke",
        "files": [size],
        "hashbench_seconds": 0.2,
        "iperf3_seconds": 0,
        "budget_s": 120,
        "groups": [group("smoke", "LAN", [cfg("hoist", size, 4 * MiB, 4, "crc64"),
                                          cfg("curl-ceiling", size, 4 * MiB, 2, "none")],
                         warmup=0, reps=1, note="smoke: one run each, nothing asserted about speed")],
        "headline": "smoke",
    }


def quick():
    size = 256 * MiB
    p8 = 8 * MiB
    groups = [
        peers_group("peers-LAN", "LAN", size, p8, 64, 8),
        sweep("hoist-LAN", "LAN", size, [p8], [8, 64, 256], ["crc64", "both"], curl=False),
        *md5rows.groups(size, p8, reps=3, evicted_reps=2),
        sweep("hoist-WAN", "WAN", size, [p8], [8, 64, 256], ["crc64"]),
        # issue 9's bars at 1 GiB (a 256 MiB upload is mostly start-up on a
        # WAN); the peers on the 30 ms profile only (on 100 ms they take
        # 10-15 s a run).
        wan_bars("bars-WAN30-1G", "WAN", GiB, p8, [64, 256]),
        wan_bars("bars-WAN100-1G", "WAN100", GiB, p8, [256], peers=False),
        lan_bars("bars-LAN-1G", GiB, p8),
    ]
    return {
        "mode": "quick",
        "files": [size, GiB],
        "hashbench_seconds": 0.5,
        "iperf3_seconds": 2,
        "budget_s": 420,
        "groups": groups,
        "headline": "peers-LAN",
    }


def full():
    g1, g8 = 1 * GiB, 8 * GiB
    p8, p32 = 8 * MiB, 32 * MiB
    R1 = 5  # counted rounds of the 1 GiB groups
    wan1 = sweep("hoist-WAN-1G", "WAN", g1, [p8, p32], [8, 64, 256, 512], ["crc64", "both"], reps=R1)
    lan8 = sweep("hoist-LAN-8G", "LAN", g8, [p8, p32], [8, 64, 256, 512], ["crc64"], warmup=0,
                 curl=False)
    lan8["configs"] += [cfg("hoist", g8, p, 64, "both", "LAN") for p in (p8, p32)]
    peers_wan = peers_group("peers-WAN", "WAN", g1, p8, 64, 64, reps=R1)
    # In WAN the MD5 pre-pass of rclone adds nothing new (it is the same
    # local work as on LAN): keep rclone-nocksum only; hoist-s3 is compared
    # on LAN.
    peers_wan["configs"] = [c for c in peers_wan["configs"]
                            if c["engine"] not in ("rclone", "hoist-s3")]
    # Most important first: if the time budget runs out, only the tail
    # (8 GiB) is cut.
    g256 = 256 * MiB
    groups = [
        peers_group("peers-LAN", "LAN", g1, p8, 64, 8, reps=R1),
        # issue 9's bars: 1 GiB with the peers, 256 MiB and 8 GiB without.
        wan_bars("bars-WAN30-1G", "WAN", g1, p8, [64, 256], reps=R1),
        wan_bars("bars-WAN100-1G", "WAN100", g1, p8, [256], reps=R1),
        lan_bars("bars-LAN-1G", g1, p8, reps=R1),
        wan_bars("bars-WAN30-256M", "WAN", g256, p8, [64], reps=R1, peers=False),
        wan_bars("bars-WAN100-256M", "WAN100", g256, p8, [256], reps=R1, peers=False),
        *md5rows.groups(g1, p8, reps=R1, evicted_reps=3),
        sweep("hoist-LAN-1G", "LAN", g1, [p8, p32], [8, 64, 256, 512], ["crc64", "both"], reps=R1),
        peers_wan,
        wan1,
        lan8,
        cold_group(cfg("hoist", g8, p8, 64, "crc64", "LAN", "cold")),
        sweep("hoist-WAN-8G", "WAN", g8, [p8, p32], [64, 256, 512], ["crc64"], warmup=0),
        wan_bars("bars-WAN30-8G", "WAN", g8, p8, [64], warmup=0, reps=3, peers=False),
        wan_bars("bars-WAN100-8G", "WAN100", g8, p8, [256], warmup=0, reps=3, peers=False),
    ]
    return {
        "mode": "full",
        "files": [g256, g1, g8],
        "hashbench_seconds": 1.0,
        "iperf3_seconds": 3,
        "budget_s": 40 * 60,
        "groups": groups,
        "headline": "peers-LAN",
    }


def rgw():
    """hoist's S3 dialect beside the S3 peers against a real Ceph RGW.

    RGW on 2 cores caps near 150 MiB/s whoever the client is, so throughput
    says little here: the headline is the client's CPU-seconds per GiB.
    1 GiB (not 256 MiB): each client's start-up then weighs little in its
    CPU per GiB, and at ~7-10 s a run 6 configurations x (1 warm-up + 3
    counted) rounds take about 4-5 minutes.  jobs 16 for everyone who has
    the knob: more connections cannot beat a server-bound cap, and 16 keeps
    RGW's memory (8 MiB per part in flight) modest.  aws-c-s3 is left out:
    python3-awscrt 0.16 always dials 127.0.0.1:80 and rgw-up.sh never binds
    80.  The curl ceiling is left out: its unsigned PUTs need ossemu's
    --anonymous.  HOIST_BENCH_RGW_MIB overrides the size (for a dry run)."""
    import os
    size = int(os.environ.get("HOIST_BENCH_RGW_MIB", "1024")) * MiB
    p8, jobs = 8 * MiB, 16
    c = [cfg("hoist-s3", size, p8, jobs, "crc64", "RGW"),
         cfg("hoist-s3", size, p8, jobs, "both", "RGW")]
    c += [cfg(e, size, p8, jobs, "default", "RGW") for e in ("aws-cli", "rclone", "rclone-nocksum")]
    return {
        "mode": "rgw",
        "files": [size],
        "hashbench_seconds": 0.5,
        "iperf3_seconds": 0,
        "budget_s": 9 * 60,
        "groups": [group("peers-RGW", "RGW", c, warmup=1, reps=3,
                         note="hoist (S3 dialect) and the S3 peers against one Ceph RGW "
                              "(memstore OSD); each object deleted after its run")],
        "headline": "peers-RGW",
        "skipped": {"aws-c-s3": "python3-awscrt 0.16 always dials 127.0.0.1:80 and tests/rgw/"
                                "rgw-up.sh binds RGW to a free port only (never 80)",
                    "curl-ceiling": "its unsigned PUTs need ossemu --anonymous; RGW wants SigV4"},
    }


def wan():
    """Only issue 9's bars, as in quick but 5 counted rounds (about 3
    minutes): the adaptive
    default against --fixed-jobs on both WAN profiles and on LAN, 1 GiB,
    with aws-c-s3 and aws-cli on the 30 ms profile."""
    p8 = 8 * MiB
    return {
        "mode": "wan",
        "files": [GiB],
        "hashbench_seconds": 0.2,
        "iperf3_seconds": 0,
        "budget_s": 420,
        "groups": [wan_bars("bars-WAN30-1G", "WAN", GiB, p8, [64, 256], reps=5),
                   wan_bars("bars-WAN100-1G", "WAN100", GiB, p8, [256], reps=5, peers=False),
                   lan_bars("bars-LAN-1G", GiB, p8, reps=5)],
        "headline": "bars-WAN30-1G",
    }


PLANS = {"smoke": smoke, "wan": wan, "quick": quick, "full": full, "rgw": rgw}
