"""Uploads the browser clients to the stack's buckets: the kiosk page (web/kiosk: .html, .js,
.css) to KioskBucket, and the web app's build (web/build/app, from `make web`) to AppBucket under
app/, its hashed files cached for a year and everything else revalidated on each load.

Run by `make deploy` after `sam deploy`, with the same AWS credentials:
    python web/deploy.py --stack steward [--region us-east-1]
boto3 comes with the AWS SAM CLI (infra/requirements-build.txt).
"""

import argparse
import mimetypes
import pathlib
import sys

import boto3

HERE = pathlib.Path(__file__).resolve().parent
KIOSK = HERE / "kiosk"
APP = HERE / "build" / "app"
KIOSK_TYPES = {".html", ".js", ".css"}
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"


def content_type(path: pathlib.Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith("javascript") else kind


def upload(s3, bucket: str, path: pathlib.Path, key: str, cache: str) -> None:
    s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type(path), "CacheControl": cache})
    print(f"uploaded {key}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="steward")
    parser.add_argument("--region", default=None)
    args = parser.parse_args()
    if not (APP / "index.html").is_file():
        print("web/build/app is missing: run make web first", file=sys.stderr)
        return 1
    session = boto3.session.Session(region_name=args.region)
    stacks = session.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [name for name in ("KioskBucketName", "AppBucketName") if not outputs.get(name)]
    if missing:
        print(f"stack {args.stack} has no {', '.join(missing)} output", file=sys.stderr)
        return 1
    s3 = session.client("s3")
    for path in sorted(KIOSK.iterdir()):
        if path.suffix in KIOSK_TYPES:
            upload(s3, outputs["KioskBucketName"], path, path.name, REVALIDATE)
    # The hashed files first, index.html last: a page never names a file not yet there.
    files = sorted(p for p in APP.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.name == "index.html")
    for path in files:
        relative = path.relative_to(APP).as_posix()
        cache = IMMUTABLE if relative.startswith("_app/immutable/") else REVALIDATE
        upload(s3, outputs["AppBucketName"], path, f"app/{relative}", cache)
    print(f"web app: {outputs.get('AppUrl')}/  (set AppBaseUrl to it)")
    print(f"kiosk page: {outputs.get('KioskUrl')}/?api={outputs.get('ApiUrl')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
