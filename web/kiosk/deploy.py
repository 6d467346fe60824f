"""Uploads the kiosk page (this folder's .html, .js and .css) to the stack's KioskBucket.

Run by `make deploy` after `sam deploy`, with the same AWS credentials:
    python infra/kiosk/deploy.py --stack steward [--region us-east-1]
boto3 comes with the AWS SAM CLI (infra/requirements-build.txt).
"""

import argparse
import pathlib
import sys

import boto3

HERE = pathlib.Path(__file__).resolve().parent
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="steward")
    parser.add_argument("--region", default=None)
    args = parser.parse_args()
    session = boto3.session.Session(region_name=args.region)
    stacks = session.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    bucket = outputs.get("KioskBucketName")
    if not bucket:
        print(f"stack {args.stack} has no KioskBucketName output", file=sys.stderr)
        return 1
    s3 = session.client("s3")
    for path in sorted(HERE.iterdir()):
        if path.suffix in TYPES:
            s3.upload_file(
                str(path),
                bucket,
                path.name,
                ExtraArgs={"ContentType": TYPES[path.suffix], "CacheControl": "no-cache"},
            )
            print(f"uploaded {path.name}")
    print(f"kiosk page: {outputs.get('KioskUrl')}/?api={outputs.get('ApiUrl')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
