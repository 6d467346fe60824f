"""One moto server on 127.0.0.1, on a free port it picks and prints as JSON on the first line.

  --single-threaded  DynamoDB: one request at a time, so conditional writes have exactly one
                     winner (moto's threaded server is not atomic: docs/local-stack.md).
  (default)          SQS, S3 and SES: threaded, so an SQS long poll does not block others.

The server exits when its standard input closes, so it never outlives the process that started
it (the local gateway or a test binary), even when that process is killed.
"""

import argparse
import json
import os
import socket
import sys
import threading


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single-threaded", action="store_true")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    args = parser.parse_args()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(128)
    port = listener.getsockname()[1]
    # moto builds URLs (S3 presigned, SQS queue URLs) from this.
    os.environ["MOTO_PORT"] = str(port)
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")

    from moto.moto_server.threaded_moto_server import DomainDispatcherApplication, create_backend_app
    from moto.server import MotoRequestHandler
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        "127.0.0.1",
        port,
        app,
        threaded=not args.single_threaded,
        request_handler=MotoRequestHandler,
        fd=listener.fileno(),
    )

    def exit_when_parent_goes():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    print(json.dumps({"port": port}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
