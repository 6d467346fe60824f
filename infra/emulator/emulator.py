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

# S3 answers a browser's cross-origin request by the bucket's CORS rules (template.yaml), as
# AWS does, not moto's default of allowing every origin everywhere: the web app's uploads
# through presigned URLs are then tested against the rules deployed. Read when moto loads.
os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"


def undo_transactions_by_item():
    """Makes a failed TransactWriteItems undo only the items it touched.

    moto backs up every table a transaction names with a deep copy before running it, so each
    transaction costs time in proportion to the whole table (measured: 11 ms at 10 items, 266 ms
    at 3,000). This remembers the touched items instead and puts them back on failure: the same
    all-or-nothing outcome, at the cost of the transaction's own items. Safe only because the
    DynamoDB server is single-threaded: nothing runs between the changes and their undo.
    """
    import copy
    import types

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    def deepcopy(value, memo=None):
        # The transaction's table backup: the table itself, never restored (undone below).
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = types.SimpleNamespace(deepcopy=deepcopy)
    original = models.DynamoDBBackend.transact_write_items

    def touched_items(backend, transact_items):
        before = []
        for entry in transact_items:
            kind, op = next(iter(entry.items()))
            name = op["TableName"]
            table = backend.get_table(name)
            if kind == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            current = backend.get_item(name, key)
            before.append((name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
        return before

    def transact_write_items(self, transact_items):
        try:
            before = touched_items(self, transact_items)
        except Exception:
            # Malformed: moto's own checks answer it, before anything is written.
            before = []
        try:
            return original(self, transact_items)
        except Exception:
            for name, key, item in reversed(before):
                if item is None:
                    self.delete_item(name, key)
                else:
                    self.get_table(name).put_item(item)
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items


def query_one_partition():
    """Makes a query of the table's own key read only its partition.

    moto answers every query by sorting all the table's items and filtering them (45 ms per
    query at 3,000 items); DynamoDB reads one partition. Index queries keep moto's way.
    """
    from moto.dynamodb.models.table import Table

    original = Table.query

    def query(self, hash_key, *args, **kwargs):
        # The backend passes index_name as the eighth argument.
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is not None or hash_key is None or not self.range_key_attr:
            return original(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key, {})
        self.all_items = lambda: sorted(partition.values(), key=lambda item: item.range_key)
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query


def sqs_message_move_tasks():
    """Adds SQS's StartMessageMoveTask and ListMessageMoveTasks, which moto lacks, so that the
    dead-letter redrive of docs/runbooks/dead-letter-redrive.md runs here as it does on AWS.

    A task moves every message of the dead-letter queue (SourceArn) to DestinationArn, or to the
    queue whose RedrivePolicy names the dead-letter queue, and is COMPLETED when it answers;
    each message goes back with its body and attributes and a fresh receive count.
    """
    import time
    import uuid

    from moto.core.responses import ActionResult
    from moto.sqs.exceptions import QueueDoesNotExist
    from moto.sqs.responses import SQSResponse

    tasks = {}  # source ARN -> the tasks started on it, newest first

    def queue_named_by(backend, arn):
        return backend.get_queue(arn.rsplit(":", 1)[-1])

    def source_of(backend, dead_letters_arn):
        for queue in backend.queues.values():
            if queue.redrive_policy and queue.redrive_policy.get("deadLetterTargetArn") == dead_letters_arn:
                return queue
        raise QueueDoesNotExist()

    def start_message_move_task(self):
        backend = self.sqs_backend
        source_arn = self._get_param("SourceArn")
        dead_letters = queue_named_by(backend, source_arn)
        destination_arn = self._get_param("DestinationArn")
        destination = queue_named_by(backend, destination_arn) if destination_arn else source_of(backend, source_arn)
        moved = 0
        while True:
            messages = backend.receive_message(dead_letters.name, 10, 0, 30)
            if not messages:
                break
            for message in messages:
                backend.send_message(destination.name, message.body, message_attributes=message.message_attributes)
                backend.delete_message(dead_letters.name, message.receipt_handle)
                moved += 1
        handle = str(uuid.uuid4())
        tasks.setdefault(source_arn, []).insert(0, {
            "TaskHandle": handle,
            "Status": "COMPLETED",
            "SourceArn": source_arn,
            "DestinationArn": destination.queue_arn,
            "ApproximateNumberOfMessagesMoved": moved,
            "ApproximateNumberOfMessagesToMove": moved,
            "StartedTimestamp": int(time.time() * 1000),
        })
        return ActionResult({"TaskHandle": handle})

    def list_message_move_tasks(self):
        return ActionResult({"Results": tasks.get(self._get_param("SourceArn"), [])[:10]})

    SQSResponse.start_message_move_task = start_message_move_task
    SQSResponse.list_message_move_tasks = list_message_move_tasks


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
    # The kernel's largest accept queue: the single-threaded server speaks HTTP/1.0, so every
    # request is a new connection, and a burst of writers keeps dozens waiting to be accepted.
    # Past a queue of 128 their SYNs were dropped and the SDK's 1 s connect timeout answered 503
    # (docs/local-stack.md).
    listener.listen(socket.SOMAXCONN)
    port = listener.getsockname()[1]
    # moto builds URLs (S3 presigned, SQS queue URLs) from this.
    os.environ["MOTO_PORT"] = str(port)
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")

    from moto.moto_server.threaded_moto_server import DomainDispatcherApplication, create_backend_app
    from moto.server import MotoRequestHandler
    from werkzeug.serving import make_server

    if args.single_threaded:
        undo_transactions_by_item()
        query_one_partition()
    else:
        sqs_message_move_tasks()
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
