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


SENT_MAIL_PATH = "/_emulator/sent-mail"


def with_sent_mail(app):
    """Adds GET /_emulator/sent-mail: every email SES accepted, as JSON, for tests to assert on
    (moto keeps them in memory but serves them only to in-process Python)."""

    def sent_mail():
        from moto.ses import ses_backends

        sent = []
        for account in ses_backends.values():
            for backend in account.values():
                for message in backend.sent_messages:
                    sent.append(
                        {
                            "id": message.id,
                            "source": message.source,
                            "destinations": getattr(message, "destinations", None),
                            "subject": getattr(message, "subject", None),
                            "body": getattr(message, "body", None),
                            "raw": getattr(message, "raw_data", None),
                        }
                    )
        return sent

    def application(environ, start_response):
        if environ.get("PATH_INFO") == SENT_MAIL_PATH and environ.get("REQUEST_METHOD") == "GET":
            body = json.dumps(sent_mail()).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return application


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

    app = with_sent_mail(DomainDispatcherApplication(create_backend_app))
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
