"""test_cli_json - `hoist --json` is what engine/cli/JSON.md says, for any bytes.

The CLI writes its JSON with jansson.  This test holds the output to the
document, not to the code:

- every field of JSON.md's `hoist cp` table is present with the type the
  table names (field names and types are read from JSON.md itself);
- a key full of JSON's special characters (quote, backslash, control
  characters, UTF-8) comes back from json.loads exactly;
- CRC64s on both sides of 2**63 (jansson's integers are signed 64-bit)
  are exact decimal integers equal to crcmod's CRC of the bytes, for the
  object and for each part of --verbose's part_list;
- invalid UTF-8 (a file name) becomes U+FFFD and the output stays UTF-8;
- a failure prints the same object with the server's code and message;
- ls-parts and abort print their documented objects.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()
JSON_MD = os.path.join(TOP, "engine", "cli", "JSON.md")


def documented_fields():
    """{field: type} from the `hoist cp` table of JSON.md."""
    out = {}
    section = None
    for line in open(JSON_MD):
        if line.startswith("## "):
            section = line.strip()
        if section != "## `hoist cp`" or not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        for name in re.findall(r"`([a-z0-9_]+)`", cells[0]):
            out[name] = cells[1]
    return out


def has_type(v, typ):
    """JSON.md's types: string (or null: "a string field the server did
    not send is null"), integer, number, array."""
    if typ == "string":
        return v is None or isinstance(v, str)
    if typ == "integer":
        return v is None or (isinstance(v, int) and not isinstance(v, bool))
    if typ == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if typ == "array":
        return isinstance(v, list)
    return False


def raw_hoist(args, env=None):
    """hoist with bytes arguments; stdout as bytes (to check it is UTF-8)."""
    e = dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK)
    e.update(env or {})
    return subprocess.run([os.fsencode(HOIST)] + args, env=e, capture_output=True, timeout=120)


def file_with_crc(d, name, high):
    """A small file whose CRC64 (crcmod) is >= 2**63 when high, else below."""
    for seed in range(1, 200):
        data = bytes((seed * 7 + i) % 251 for i in range(1000 + seed))
        if (crc64(data) >= 1 << 63) == high:
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.write(data)
            return p, crc64(data)
    raise RuntimeError("no file found")


fields = documented_fields()
t.ok(len(fields) >= 30 and "crc64" in fields and "part_list" in fields,
     "JSON.md's table read: %d fields" % len(fields), fields)

with TempDir() as d, Ossemu(args=["--anonymous"]) as srv:
    # Every documented field, with its type; part_list only with --verbose.
    p, hi = file_with_crc(d, "high", True)
    key = 'q"uote\\back/slash\ttab\x01ctl \u00e9t\u00e9 \u6f22 \U0001f600'
    r = raw_hoist([b"cp", os.fsencode(p), ("oss://bkt/" + key).encode(), b"--endpoint",
                   srv.url.encode(), b"--json", b"--verbose"])
    t.eq(r.returncode, 0, "upload with an odd key succeeded")
    text = r.stdout.decode("utf-8")  # raises if not UTF-8
    t.ok(text.endswith("}\n") and text.count("\n") == 1, "exactly one line of JSON", text)
    js = json.loads(text)
    missing = [f for f in fields if f not in js]
    t.eq(missing, [], "every field of JSON.md present")
    wrong = {f: js[f] for f in fields if f in js and not has_type(js[f], fields[f])}
    t.eq(wrong, {}, "every field has JSON.md's type")
    t.eq(js["key"], key, "the key comes back exactly (quote, backslash, tab, ^A, UTF-8)")
    t.eq(js["status"], "OK", "status OK")
    t.eq(js["crc64"], hi, "CRC64 above 2**63 exact: %d" % hi)
    t.ok(isinstance(js["part_list"], list), "part_list with --verbose")

    p, lo = file_with_crc(d, "low", False)
    pr, js = cp(srv, p, "bkt", "low")
    t.eq(js and js["crc64"], lo, "CRC64 below 2**63 exact: %d" % lo)
    t.ok(js and "part_list" not in js, "no part_list without --verbose")

    # Multipart: each part's CRC64 is crcmod's CRC of those bytes.
    big = make_file(os.path.join(d, "big"), 5 * 102400 + 77, seed=9)
    pr, js = cp(srv, big, "bkt", "big", "--part-size", "100K", "--verbose")
    t.eq(pr.returncode, 0, "multipart upload with --verbose")
    data = open(big, "rb").read()
    want = [(i + 1, crc64(data[i * 102400:(i + 1) * 102400])) for i in range(6)]
    got = [(q["part_number"], q["crc64"]) for q in (js or {}).get("part_list", [])]
    t.eq(got, want, "part_list: part numbers ascending, CRC64s exact")
    t.ok(js and all(isinstance(q["s3_checksum_echoed"], bool) for q in js["part_list"]),
         "s3_checksum_echoed is a boolean")
    t.eq(js and js["crc64"], crc64(data), "object CRC64 exact")

    # Invalid UTF-8 in a string (the file name in the message).
    bad = os.path.join(os.fsencode(d), b"no-such-\xff\xfe-file")
    r = raw_hoist([b"cp", bad, b"oss://bkt/x", b"--endpoint", srv.url.encode(), b"--json"])
    t.eq(r.returncode, 3, "a missing file: exit 3")
    try:
        js = json.loads(r.stdout.decode("utf-8"))
    except ValueError as e:
        js = {"error": str(e), "raw": r.stdout}
    t.ok("no-such-\ufffd\ufffd-file" in (js.get("message") or ""),
         "invalid UTF-8 bytes become U+FFFD in the message", js)
    t.eq(js.get("status"), "E_IO", "the failure's status")

    # A server failure: the same object, with the server's code.
    pr, js = cp(srv, p, "bkt", "denied", env={"OSS_ACCESS_KEY_SECRET": "wrong"})
    t.eq(pr.returncode, 3, "a wrong secret: exit 3")
    t.eq(js and (js["status"], js["exit_code"], js["error_code"]),
         ("E_AUTH", 3, "SignatureDoesNotMatch"), "the failure object names the server's code")
    t.ok(js and js["message"] and js["error_request_id"] and js["http_status"] == 403,
         "the failure object has the message, request id and HTTP status", js)

    # Housekeeping: an upload left behind, listed and aborted.
    init = oss_request(srv, "POST", "bkt", "kept", query="uploads", subresource="uploads")
    upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", init[2]).group(1).decode()
    part = data[:102400]
    st, _, _ = oss_request(srv, "PUT", "bkt", "kept",
                           query="partNumber=1&uploadId=" + upload_id,
                           subresource="partNumber=1&uploadId=" + upload_id, body=part)
    t.eq(st, 200, "a part uploaded behind hoist's back")
    r = hoist("ls-parts", "oss://bkt/kept", "--upload-id", upload_id, "--endpoint", srv.url,
              "--json")
    js = json.loads(r.stdout) if r.returncode == 0 else {}
    t.eq(js.get("count"), 1, "ls-parts --json: count")
    t.eq([(q["part_number"], q["size"], q["crc64"]) for q in js.get("parts", [])],
         [(1, 102400, crc64(part))], "ls-parts --json: the part, its size and exact CRC64")
    r = hoist("abort", "oss://bkt/kept", "--upload-id", upload_id, "--endpoint", srv.url,
              "--json")
    js = json.loads(r.stdout) if r.returncode == 0 else {}
    t.eq((js.get("status"), js.get("key"), js.get("upload_id")), ("OK", "kept", upload_id),
         "abort --json: status, key, upload id")
t.done()
