"""The AWS CLI (v1) against a2i-local, with --endpoint-url as a user would type it."""

import hashlib
import json
import os
import subprocess
import tempfile
import unittest
import uuid

from compat import (
    A2I_ENDPOINT,
    FLOW_DEFINITION_ARN,
    INPUT_PATH,
    LOOP_ARN_PREFIX,
    OUTPUT_PATH,
    S3_ENDPOINT,
    S3_EVENTS_FILE,
    json_lines,
    unique,
)


def aws(*args, endpoint=A2I_ENDPOINT, parse=True):
    """Runs `aws ARGS --endpoint-url ENDPOINT`; returns (exit code, parsed stdout, stderr)."""
    done = subprocess.run(
        ["aws", *args, "--endpoint-url", endpoint, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout
    if parse and done.returncode == 0 and out.strip():
        out = json.loads(out)
    return done.returncode, out, done.stderr


class AwsCliCompat(unittest.TestCase):
    def a2i(self, *args, **kwargs):
        return aws("sagemaker-a2i-runtime", *args, **kwargs)

    def ok(self, result):
        code, out, err = result
        self.assertEqual(code, 0, err)
        return out

    def test_start_describe_list_stop_delete(self):
        flow = FLOW_DEFINITION_ARN + "-cli-" + uuid.uuid4().hex[:8]
        names = [unique("cli-a"), unique("cli-b")]
        for name in names:
            started = self.ok(
                self.a2i(
                    "start-human-loop",
                    "--human-loop-name", name,
                    "--flow-definition-arn", flow,
                    "--human-loop-input", json.dumps({"InputContent": json.dumps({"n": name})}),
                    "--data-attributes", "ContentClassifiers=FreeOfAdultContent",
                )
            )
            self.assertEqual(started["HumanLoopArn"], LOOP_ARN_PREFIX + name)

        described = self.ok(self.a2i("describe-human-loop", "--human-loop-name", names[0]))
        self.assertEqual(described["HumanLoopStatus"], "InProgress")
        self.assertEqual(described["FlowDefinitionArn"], flow)
        self.assertRegex(described["CreationTime"], r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")

        # --page-size 1 makes the CLI follow NextToken across two pages.
        listed = self.ok(
            self.a2i(
                "list-human-loops",
                "--flow-definition-arn", flow,
                "--creation-time-after", "2020-01-01",
                "--sort-order", "Ascending",
                "--page-size", "1",
            )
        )
        self.assertEqual([s["HumanLoopName"] for s in listed["HumanLoopSummaries"]], names)
        none = self.ok(
            self.a2i(
                "list-human-loops",
                "--flow-definition-arn", flow,
                "--creation-time-before", "2020-01-01T00:00:00Z",
            )
        )
        self.assertEqual(none["HumanLoopSummaries"], [])

        self.ok(self.a2i("stop-human-loop", "--human-loop-name", names[1], parse=False))
        stopped = self.ok(self.a2i("describe-human-loop", "--human-loop-name", names[1]))
        self.assertIn(stopped["HumanLoopStatus"], ("Stopping", "Stopped"))
        self.ok(self.a2i("delete-human-loop", "--human-loop-name", names[1], parse=False))
        code, _, err = self.a2i("describe-human-loop", "--human-loop-name", names[1])
        self.assertNotEqual(code, 0)
        self.assertIn("ResourceNotFoundException", err)

    def test_errors_are_reported_with_their_type(self):
        name = unique("cli-conflict")
        loop_input = lambda v: json.dumps({"InputContent": json.dumps({"v": v})})  # noqa: E731
        start = [
            "start-human-loop",
            "--human-loop-name", name,
            "--flow-definition-arn", FLOW_DEFINITION_ARN,
            "--human-loop-input",
        ]
        self.ok(self.a2i(*start, loop_input(1)))
        code, _, err = self.a2i(*start, loop_input(2))
        self.assertNotEqual(code, 0)
        self.assertIn("ConflictException", err)

        code, _, err = self.a2i(
            "list-human-loops",
            "--flow-definition-arn", FLOW_DEFINITION_ARN,
            "--sort-order", "Sideways",
        )
        self.assertNotEqual(code, 0)
        self.assertIn("ValidationException", err)

    def test_s3_cp_and_ls(self):
        bucket, _, prefix = INPUT_PATH.removeprefix("s3://").partition("/")
        key = f"{prefix}/cli upload {uuid.uuid4().hex[:6]}+1.json"
        body = '{"from": "aws s3 cp"}\n'
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "result.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write(body)
            code, _, err = aws("s3", "cp", path, f"s3://{bucket}/{key}", "--only-show-errors",
                               endpoint=S3_ENDPOINT, parse=False)
            self.assertEqual(code, 0, err)

        code, out, err = aws("s3", "cp", f"s3://{bucket}/{key}", "-", endpoint=S3_ENDPOINT,
                             parse=False)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, body)

        code, out, err = aws("s3", "ls", f"s3://{bucket}/{prefix}/", endpoint=S3_ENDPOINT,
                             parse=False)
        self.assertEqual(code, 0, err)
        self.assertIn(key.rsplit("/", 1)[1], out)

        # The upload went through the S3 port under the input path: a real-shaped event.
        encoded = key.replace("+", "%2B").replace(" ", "+")
        events = json_lines(
            S3_EVENTS_FILE, lambda e: e["Records"][0]["s3"]["object"]["key"] == encoded
        )
        self.assertEqual(len(events), 1, f"no S3 event with key {encoded}")
        self.assertEqual(events[0]["Records"][0]["s3"]["object"]["size"], len(body))

    def test_s3_cp_takes_a_1024_byte_key_and_refuses_a_1025_byte_one(self):
        bucket = OUTPUT_PATH.removeprefix("s3://").partition("/")[0]
        stem = f"long-{uuid.uuid4().hex[:8]}/"
        key = stem + "k" * (1024 - len(stem))
        self.assertEqual(len(key.encode()), 1024)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "item.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write('{"long": "key"}\n')
            code, _, err = aws("s3", "cp", path, f"s3://{bucket}/{key}", "--only-show-errors",
                               endpoint=S3_ENDPOINT, parse=False)
            self.assertEqual(code, 0, err)
            code, out, err = aws("s3", "cp", f"s3://{bucket}/{key}", "-", endpoint=S3_ENDPOINT,
                                 parse=False)
            self.assertEqual(code, 0, err)
            self.assertEqual(out, '{"long": "key"}\n')

            code, _, err = aws("s3", "cp", path, f"s3://{bucket}/{key}x", "--only-show-errors",
                               endpoint=S3_ENDPOINT, parse=False)
            self.assertNotEqual(code, 0)
            self.assertIn("KeyTooLongError", err)
            self.assertNotIn("InternalError", err)

    def test_s3_cp_of_a_file_over_8_mb_is_a_multipart_upload(self):
        bucket = OUTPUT_PATH.removeprefix("s3://").partition("/")[0]
        key = f"big-{uuid.uuid4().hex[:8]}.jsonl"
        line = b'{"id": "x", "predictions": [{"label": "cat", "confidence": 0.5}]}\n'
        body = line * (9 * 1024 * 1024 // len(line) + 1)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "big.jsonl")
            with open(path, "wb") as f:
                f.write(body)
            code, _, err = aws("s3", "cp", path, f"s3://{bucket}/{key}", "--only-show-errors",
                               endpoint=S3_ENDPOINT, parse=False)
            self.assertEqual(code, 0, err)
            back = os.path.join(tmp, "back.jsonl")
            code, _, err = aws("s3", "cp", f"s3://{bucket}/{key}", back, "--only-show-errors",
                               endpoint=S3_ENDPOINT, parse=False)
            self.assertEqual(code, 0, err)
            with open(back, "rb") as f:
                self.assertEqual(hashlib.md5(f.read()).hexdigest(), hashlib.md5(body).hexdigest())
        code, head, err = aws("s3api", "head-object", "--bucket", bucket, "--key", key,
                              endpoint=S3_ENDPOINT)
        self.assertEqual(code, 0, err)
        self.assertEqual(head["ContentLength"], len(body))
        self.assertRegex(head["ETag"], r'^"[0-9a-f]{32}-2"$', "8 MB parts: two of them")


if __name__ == "__main__":
    unittest.main()
