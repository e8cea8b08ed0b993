"""What crt-upload.py and crt-download.py share: the options and the S3 client
(aws-c-s3 through Debian's python3-awscrt 0.16.x; see crt-upload.py for why it
is shaped so)."""
import os

from awscrt.auth import AwsCredentialsProvider
from awscrt.io import ClientBootstrap, DefaultHostResolver, EventLoopGroup
from awscrt.s3 import S3Client, S3RequestTlsMode


def add_options(ap):
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--part-size", type=int, default=8 << 20)
    ap.add_argument("--throughput-gbps", type=float, default=10.0)
    ap.add_argument("--region", default="us-east-1")


def split_url(ap, url, what):
    """s3://BUCKET/KEY -> (bucket, key), or an argparse error naming what."""
    if not url.startswith("s3://") or "/" not in url[5:]:
        ap.error(f"{what} must be s3://BUCKET/KEY")
    return url[5:].split("/", 1)


def client(a):
    elg = EventLoopGroup()  # one event-loop thread per core
    bootstrap = ClientBootstrap(elg, DefaultHostResolver(elg))
    creds = AwsCredentialsProvider.new_static(os.environ["AWS_ACCESS_KEY_ID"],
                                              os.environ["AWS_SECRET_ACCESS_KEY"])
    return S3Client(bootstrap=bootstrap, region=a.region, tls_mode=S3RequestTlsMode.DISABLED,
                    credential_provider=creds, part_size=a.part_size,
                    throughput_target_gbps=a.throughput_gbps)
