"""boto3 against a2i-local, unchanged: endpoints come from the AWS_ENDPOINT_URL_* variables
that `a2i-local serve --env-file` writes, as they would for any SDK."""

import datetime
import hashlib
import json
import time
import unittest
import uuid

import boto3
import botocore.config
import botocore.exceptions

from compat import (
    A2I_ENDPOINT,
    FLOW_DEFINITION_ARN,
    INPUT_PATH,
    LOOP_ARN_PREFIX,
    OUTPUT_PATH,
    S3_ENDPOINT,
    S3_EVENTS_FILE,
    STATUS_EVENTS_FILE,
    control,
    json_lines,
    unique,
)

# No retries: a check must see the server's first answer.
NO_RETRIES = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})


def loop_input(value) -> dict:
    return {"InputContent": json.dumps(value)}


class Boto3Compat(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a2i = boto3.client("sagemaker-a2i-runtime", config=NO_RETRIES)
        cls.s3 = boto3.client("s3", config=NO_RETRIES)
        # Checked before any call: the variables, not a default AWS endpoint, decide.
        if cls.a2i.meta.endpoint_url != A2I_ENDPOINT or cls.s3.meta.endpoint_url != S3_ENDPOINT:
            raise RuntimeError(
                f"boto3 did not take the endpoints from the environment: "
                f"{cls.a2i.meta.endpoint_url}, {cls.s3.meta.endpoint_url}"
            )

    def start(self, name, value=None, flow=FLOW_DEFINITION_ARN, **extra):
        return self.a2i.start_human_loop(
            HumanLoopName=name,
            FlowDefinitionArn=flow,
            HumanLoopInput=loop_input(value if value is not None else {"n": name}),
            **extra,
        )

    def test_start_and_describe(self):
        name = unique("boto3-start")
        started = self.start(
            name,
            DataAttributes={"ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]},
        )
        self.assertEqual(started["HumanLoopArn"], LOOP_ARN_PREFIX + name)
        self.assertEqual(started["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertTrue(started["ResponseMetadata"]["RequestId"])

        described = self.a2i.describe_human_loop(HumanLoopName=name)
        self.assertEqual(described["HumanLoopName"], name)
        self.assertEqual(described["HumanLoopStatus"], "InProgress")
        self.assertEqual(described["FlowDefinitionArn"], FLOW_DEFINITION_ARN)
        self.assertEqual(described["HumanLoopArn"], LOOP_ARN_PREFIX + name)
        created = described["CreationTime"]
        self.assertIsInstance(created, datetime.datetime)
        self.assertIsNotNone(created.tzinfo)
        age = datetime.datetime.now(datetime.timezone.utc) - created
        self.assertLess(abs(age.total_seconds()), 300)
        self.assertNotIn("HumanLoopOutput", described, "no output before the loop completes")

    def test_list_filters_by_creation_time_and_sorts(self):
        flow = FLOW_DEFINITION_ARN + "-" + uuid.uuid4().hex[:8]
        names = []
        for i in range(3):
            names.append(unique(f"boto3-list{i}"))
            self.start(names[-1], flow=flow)
            time.sleep(0.02)  # distinct creation times (milliseconds)
        middle = self.a2i.describe_human_loop(HumanLoopName=names[1])["CreationTime"]

        listed = self.a2i.list_human_loops(FlowDefinitionArn=flow, SortOrder="Ascending")
        self.assertEqual([s["HumanLoopName"] for s in listed["HumanLoopSummaries"]], names)
        self.assertNotIn("NextToken", listed)
        summary = listed["HumanLoopSummaries"][0]
        self.assertEqual(summary["HumanLoopStatus"], "InProgress")
        self.assertEqual(summary["FlowDefinitionArn"], flow)
        self.assertIsInstance(summary["CreationTime"], datetime.datetime)

        newest_first = self.a2i.list_human_loops(FlowDefinitionArn=flow)
        self.assertEqual(
            [s["HumanLoopName"] for s in newest_first["HumanLoopSummaries"]], names[::-1]
        )
        after = self.a2i.list_human_loops(
            FlowDefinitionArn=flow, CreationTimeAfter=middle, SortOrder="Ascending"
        )
        self.assertEqual([s["HumanLoopName"] for s in after["HumanLoopSummaries"]], names[1:])
        before = self.a2i.list_human_loops(FlowDefinitionArn=flow, CreationTimeBefore=middle)
        self.assertEqual([s["HumanLoopName"] for s in before["HumanLoopSummaries"]], names[:1])
        # A date-only filter, as the API reference shows it.
        tomorrow = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
        future = self.a2i.list_human_loops(FlowDefinitionArn=flow, CreationTimeAfter=tomorrow)
        self.assertEqual(future["HumanLoopSummaries"], [])

    def test_the_paginator_walks_every_page(self):
        flow = FLOW_DEFINITION_ARN + "-" + uuid.uuid4().hex[:8]
        names = [unique(f"boto3-page{i}") for i in range(5)]
        for name in names:
            self.start(name, flow=flow)
        paginator = self.a2i.get_paginator("list_human_loops")
        pages = list(
            paginator.paginate(
                FlowDefinitionArn=flow,
                SortOrder="Ascending",
                PaginationConfig={"PageSize": 2},
            )
        )
        self.assertEqual([len(p["HumanLoopSummaries"]) for p in pages], [2, 2, 1])
        seen = [s["HumanLoopName"] for p in pages for s in p["HumanLoopSummaries"]]
        self.assertEqual(sorted(seen), sorted(names))
        self.assertEqual(len(set(seen)), 5, "no loop twice")
        self.assertIn("NextToken", pages[0])
        self.assertNotIn("NextToken", pages[-1])

    def test_stop_then_delete_then_resource_not_found(self):
        name = unique("boto3-stop")
        self.start(name)
        with self.assertRaises(self.a2i.exceptions.ValidationException):
            self.a2i.delete_human_loop(HumanLoopName=name)  # still InProgress
        self.a2i.stop_human_loop(HumanLoopName=name)
        status = self.a2i.describe_human_loop(HumanLoopName=name)["HumanLoopStatus"]
        self.assertIn(status, ("Stopping", "Stopped"))
        self.a2i.delete_human_loop(HumanLoopName=name)
        with self.assertRaises(self.a2i.exceptions.ResourceNotFoundException) as caught:
            self.a2i.describe_human_loop(HumanLoopName=name)
        error = caught.exception.response
        self.assertEqual(error["Error"]["Code"], "ResourceNotFoundException")
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], 404)
        self.assertTrue(error["Error"]["Message"])

    def test_same_name_different_input_is_a_conflict(self):
        name = unique("boto3-conflict")
        first = self.start(name, {"v": 1})
        # The same request again is not a new loop (a retried request).
        self.assertEqual(self.start(name, {"v": 1})["HumanLoopArn"], first["HumanLoopArn"])
        with self.assertRaises(self.a2i.exceptions.ConflictException) as caught:
            self.start(name, {"v": 2})
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 409)
        self.assertTrue(caught.exception.response["Error"]["Message"])

    def test_an_invalid_name_is_a_validation_exception_naming_the_field(self):
        with self.assertRaises(self.a2i.exceptions.ValidationException) as caught:
            self.start("Not_A_Valid_Name")
        message = caught.exception.response["Error"]["Message"]
        self.assertIn("humanLoopName", message)
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_an_unknown_loop_is_resource_not_found(self):
        with self.assertRaises(self.a2i.exceptions.ResourceNotFoundException):
            self.a2i.stop_human_loop(HumanLoopName=unique("boto3-missing"))

    def test_an_answered_loop_has_output_json_in_s3_and_a_status_event(self):
        name = unique("boto3-answer")
        self.start(name, {"taskObject": "s3://compat-input/cat.jpg"})
        control(
            f"loops/{name}/answer",
            {"answers": [{"answerContent": {"label": "cat"}, "workerId": "w-1"}]},
        )
        described = self.a2i.describe_human_loop(HumanLoopName=name)
        self.assertEqual(described["HumanLoopStatus"], "Completed")
        uri = described["HumanLoopOutput"]["OutputS3Uri"]
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        self.assertTrue(uri.startswith(OUTPUT_PATH + "/compat-flow/"), uri)
        self.assertTrue(key.endswith(f"/{name}/output.json"), key)

        output = json.load(self.s3.get_object(Bucket=bucket, Key=key)["Body"])
        self.assertEqual(output["humanLoopName"], name)
        self.assertEqual(output["flowDefinitionArn"], FLOW_DEFINITION_ARN)
        self.assertEqual(output["inputContent"], {"taskObject": "s3://compat-input/cat.jpg"})
        self.assertEqual(output["humanAnswers"][0]["answerContent"], {"label": "cat"})
        self.assertEqual(output["humanAnswers"][0]["workerId"], "w-1")

        events = json_lines(
            STATUS_EVENTS_FILE, lambda e: e.get("detail", {}).get("humanLoopName") == name
        )
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["detail-type"], "SageMaker A2I HumanLoop Status Change")
        self.assertEqual(events[0]["detail"]["humanLoopStatus"], "Completed")
        self.assertEqual(events[0]["detail"]["humanLoopOutput"]["outputS3Uri"], uri)

    def test_s3_put_get_head_and_list(self):
        bucket = "compat-boto3-" + uuid.uuid4().hex[:8]
        self.s3.create_bucket(Bucket=bucket)
        body = b'{"hello": "world"}\n'
        key = "dir/a b+c (1).json"
        put = self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        self.assertEqual(put["ETag"].strip('"'), hashlib.md5(body).hexdigest())
        got = self.s3.get_object(Bucket=bucket, Key=key)
        self.assertEqual(got["Body"].read(), body)
        head = self.s3.head_object(Bucket=bucket, Key=key)
        self.assertEqual(head["ContentLength"], len(body))
        self.s3.put_object(Bucket=bucket, Key="dir/plain name.json", Body=body)
        listed = self.s3.list_objects_v2(Bucket=bucket, Prefix="dir/plain")
        self.assertEqual([o["Key"] for o in listed["Contents"]], ["dir/plain name.json"])
        with self.assertRaises(self.s3.exceptions.NoSuchKey):
            self.s3.get_object(Bucket=bucket, Key="dir/missing.json")

    def test_listing_keeps_a_plus_and_spaces_in_keys(self):
        """botocore lists with encoding-type=url and decodes the keys it gets back as form
        data, so the server must encode them ("a+b" would otherwise come back as "a b")."""
        bucket = "compat-plus-" + uuid.uuid4().hex[:8]
        self.s3.create_bucket(Bucket=bucket)
        self.s3.put_object(Bucket=bucket, Key="a+b.json", Body=b"{}")
        self.s3.put_object(Bucket=bucket, Key="dir x/c d+e ü.json", Body=b"{}")
        listed = self.s3.list_objects_v2(Bucket=bucket)
        self.assertEqual([o["Key"] for o in listed["Contents"]], ["a+b.json", "dir x/c d+e ü.json"])
        folders = self.s3.list_objects_v2(Bucket=bucket, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in folders["CommonPrefixes"]], ["dir x/"])

    def test_an_upload_under_the_input_path_produces_an_s3_event(self):
        bucket, _, prefix = INPUT_PATH.removeprefix("s3://").partition("/")
        key = f"{prefix}/boto3 {uuid.uuid4().hex[:6]}+1.json"
        self.s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
        encoded = key.replace("+", "%2B").replace(" ", "+")
        events = json_lines(
            S3_EVENTS_FILE, lambda e: e["Records"][0]["s3"]["object"]["key"] == encoded
        )
        self.assertEqual(len(events), 1, f"no S3 event with key {encoded}")
        record = events[0]["Records"][0]
        self.assertEqual(record["eventName"], "ObjectCreated:Put")
        self.assertEqual(record["s3"]["bucket"]["name"], bucket)
        self.assertEqual(record["s3"]["object"]["size"], 2)

    def new_bucket(self, prefix):
        bucket = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.s3.create_bucket(Bucket=bucket)
        return bucket

    def assert_status(self, caught, status, code=None):
        error = caught.exception.response
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], status)
        if code is not None:
            self.assertEqual(error["Error"]["Code"], code)

    def test_conditional_get_and_head(self):
        bucket = self.new_bucket("compat-cond")
        etag = self.s3.put_object(Bucket=bucket, Key="k.json", Body=b"{}")["ETag"]
        other = '"00000000000000000000000000000000"'
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k.json", IfMatch=etag)["Body"].read(), b"{}")
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            self.s3.get_object(Bucket=bucket, Key="k.json", IfMatch=other)
        self.assert_status(caught, 412, "PreconditionFailed")
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            self.s3.get_object(Bucket=bucket, Key="k.json", IfNoneMatch=etag)
        self.assert_status(caught, 304)
        modified = self.s3.head_object(Bucket=bucket, Key="k.json")["LastModified"]
        later = modified + datetime.timedelta(hours=1)
        earlier = modified - datetime.timedelta(hours=1)
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            self.s3.head_object(Bucket=bucket, Key="k.json", IfModifiedSince=later)
        self.assert_status(caught, 304)
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            self.s3.head_object(Bucket=bucket, Key="k.json", IfUnmodifiedSince=earlier)
        self.assert_status(caught, 412)
        # S3's precedence: If-Match true wins over If-Unmodified-Since false.
        got = self.s3.get_object(Bucket=bucket, Key="k.json", IfMatch=etag, IfUnmodifiedSince=earlier)
        self.assertEqual(got["Body"].read(), b"{}")

    def test_conditional_put(self):
        bucket = self.new_bucket("compat-cput")
        first = self.s3.put_object(Bucket=bucket, Key="lock", Body=b"1", IfNoneMatch="*")
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            self.s3.put_object(Bucket=bucket, Key="lock", Body=b"2", IfNoneMatch="*")
        self.assert_status(caught, 412, "PreconditionFailed")
        self.s3.put_object(Bucket=bucket, Key="lock", Body=b"3", IfMatch=first["ETag"])
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            self.s3.put_object(Bucket=bucket, Key="lock", Body=b"4", IfMatch=first["ETag"])
        self.assert_status(caught, 412, "PreconditionFailed")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="lock")["Body"].read(), b"3")

    def test_missing_bucket_and_long_keys_are_typed_client_errors(self):
        with self.assertRaises(self.s3.exceptions.NoSuchBucket):
            self.s3.list_objects_v2(Bucket="compat-missing-" + uuid.uuid4().hex[:8])
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            self.s3.put_object(Bucket="compat-missing-" + uuid.uuid4().hex[:8], Key="k", Body=b"{}")
        self.assert_status(caught, 404, "NoSuchBucket")
        bucket = self.new_bucket("compat-long")
        key = "é" * 512
        self.s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
        self.assertEqual([o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket)["Contents"]], [key])
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            self.s3.put_object(Bucket=bucket, Key=key + "x", Body=b"{}")
        self.assert_status(caught, 400, "KeyTooLongError")

    def test_versioned_round_trip(self):
        bucket = self.new_bucket("compat-ver")
        self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")
        v1 = self.s3.put_object(Bucket=bucket, Key="doc.json", Body=b"one")["VersionId"]
        v2 = self.s3.put_object(Bucket=bucket, Key="doc.json", Body=b"two!")["VersionId"]
        self.assertNotEqual(v1, v2)
        got = self.s3.get_object(Bucket=bucket, Key="doc.json", VersionId=v1)
        self.assertEqual((got["Body"].read(), got["VersionId"]), (b"one", v1))
        marker = self.s3.delete_object(Bucket=bucket, Key="doc.json")
        self.assertTrue(marker["DeleteMarker"])
        with self.assertRaises(self.s3.exceptions.NoSuchKey):
            self.s3.get_object(Bucket=bucket, Key="doc.json")
        listed = self.s3.list_object_versions(Bucket=bucket)
        self.assertEqual([(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]], [(v2, False), (v1, False)])
        self.assertEqual([(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]],
                         [(marker["VersionId"], True)])
        self.s3.delete_object(Bucket=bucket, Key="doc.json", VersionId=marker["VersionId"])
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="doc.json")["Body"].read(), b"two!")


if __name__ == "__main__":
    unittest.main()
