"""The SageMaker control plane (task UIs, flow definitions, RenderUiTemplate) with boto3's
`sagemaker` client and `aws sagemaker` (AWS CLI v1), unchanged. botocore reads the error type
only from the body's `__type`, so these checks prove the shapes arrive there."""

import hashlib
import json
import subprocess
import unittest
import urllib.request

import boto3
import botocore.config
import botocore.exceptions

from compat import MAX_FLOW_DEFINITIONS, SAGEMAKER_ENDPOINT, unique

NO_RETRIES = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
TEMPLATE = "<crowd-form><p>{{ task.input.text }}</p></crowd-form>"
ROLE = "arn:aws:iam::111122223333:role/a2i-compat"
WORKTEAM = "arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/compat"


def loop_config(ui_arn, **overrides):
    config = {
        "WorkteamArn": WORKTEAM,
        "HumanTaskUiArn": ui_arn,
        "TaskTitle": "Review",
        "TaskDescription": "Check the item",
        "TaskCount": 2,
        "TaskAvailabilityLifetimeInSeconds": 600,
        "TaskTimeLimitInSeconds": 300,
        "TaskKeywords": ["compat"],
    }
    config.update(overrides)
    return config


class SageMakerBoto3(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sm = boto3.client("sagemaker", config=NO_RETRIES)
        if cls.sm.meta.endpoint_url != SAGEMAKER_ENDPOINT:
            raise RuntimeError(f"boto3 did not take the endpoint: {cls.sm.meta.endpoint_url}")

    def ui(self, name=None, content=TEMPLATE):
        name = name or unique("boto3-ui")
        return name, self.sm.create_human_task_ui(
            HumanTaskUiName=name, UiTemplate={"Content": content}
        )["HumanTaskUiArn"]

    def flow(self, ui_arn, name=None, **config):
        name = name or unique("boto3-flow")
        arn = self.sm.create_flow_definition(
            FlowDefinitionName=name,
            HumanLoopConfig=loop_config(ui_arn, **config),
            OutputConfig={"S3OutputPath": "s3://compat-sagemaker-output/reviews"},
            RoleArn=ROLE,
        )["FlowDefinitionArn"]
        return name, arn

    def assert_error(self, caught, code):
        error = caught.exception.response
        self.assertEqual(error["Error"]["Code"], code)
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertTrue(error["Error"]["Message"])
        return error["Error"]["Message"]

    def test_task_ui_create_describe_list_delete(self):
        name, arn = self.ui()
        self.assertEqual(arn, f"arn:aws:sagemaker:us-east-1:111122223333:human-task-ui/{name}")
        described = self.sm.describe_human_task_ui(HumanTaskUiName=name)
        self.assertEqual(described["HumanTaskUiArn"], arn)
        self.assertEqual(described["HumanTaskUiStatus"], "Active")
        self.assertIsNotNone(described["CreationTime"].tzinfo)
        template = described["UiTemplate"]
        self.assertEqual(template["ContentSha256"], hashlib.sha256(TEMPLATE.encode()).hexdigest())
        with urllib.request.urlopen(template["Url"], timeout=10) as served:
            self.assertEqual(served.read().decode(), TEMPLATE)
        names = [
            s["HumanTaskUiName"]
            for page in self.sm.get_paginator("list_human_task_uis").paginate()
            for s in page["HumanTaskUiSummaries"]
        ]
        self.assertIn(name, names)
        self.sm.delete_human_task_ui(HumanTaskUiName=name)
        with self.assertRaises(self.sm.exceptions.ResourceNotFound) as caught:
            self.sm.describe_human_task_ui(HumanTaskUiName=name)
        self.assert_error(caught, "ResourceNotFound")
        with self.assertRaises(self.sm.exceptions.ResourceNotFound):
            self.sm.delete_human_task_ui(HumanTaskUiName=name)

    def test_a_taken_name_is_resource_in_use(self):
        name, arn = self.ui()
        with self.assertRaises(self.sm.exceptions.ResourceInUse) as caught:
            self.ui(name)
        self.assert_error(caught, "ResourceInUse")
        flow, _ = self.flow(arn)
        with self.assertRaises(self.sm.exceptions.ResourceInUse):
            self.flow(arn, flow)
        self.sm.delete_flow_definition(FlowDefinitionName=flow)

    def test_flow_definition_create_describe_list_delete(self):
        _, ui_arn = self.ui()
        name, arn = self.flow(ui_arn)
        described = self.sm.describe_flow_definition(FlowDefinitionName=name)
        self.assertEqual(described["FlowDefinitionArn"], arn)
        self.assertEqual(described["FlowDefinitionStatus"], "Active")
        self.assertEqual(described["HumanLoopConfig"], loop_config(ui_arn))
        self.assertEqual(
            described["OutputConfig"], {"S3OutputPath": "s3://compat-sagemaker-output/reviews"}
        )
        self.assertEqual(described["RoleArn"], ROLE)
        summaries = [
            s
            for page in self.sm.get_paginator("list_flow_definitions").paginate(
                SortOrder="Ascending", PaginationConfig={"PageSize": 1}
            )
            for s in page["FlowDefinitionSummaries"]
        ]
        mine = [s for s in summaries if s["FlowDefinitionName"] == name]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["FlowDefinitionStatus"], "Active")
        self.sm.delete_flow_definition(FlowDefinitionName=name)
        with self.assertRaises(self.sm.exceptions.ResourceNotFound) as caught:
            self.sm.describe_flow_definition(FlowDefinitionName=name)
        self.assert_error(caught, "ResourceNotFound")
        with self.assertRaises(self.sm.exceptions.ResourceNotFound):
            self.sm.delete_flow_definition(FlowDefinitionName=name)

    def test_list_pages_in_order_with_tokens(self):
        names = [self.ui(unique(f"boto3-page{i}"))[0] for i in range(5)]
        pages = list(
            self.sm.get_paginator("list_human_task_uis").paginate(
                SortOrder="Ascending", PaginationConfig={"PageSize": 2}
            )
        )
        self.assertTrue(all(len(p["HumanTaskUiSummaries"]) <= 2 for p in pages))
        seen = [s["HumanTaskUiName"] for p in pages for s in p["HumanTaskUiSummaries"]]
        self.assertEqual(len(seen), len(set(seen)), "no task UI twice")
        self.assertEqual([n for n in seen if n in names], names)
        first = self.sm.list_human_task_uis(MaxResults=1)
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            self.sm.list_human_task_uis(SortOrder="Ascending", NextToken=first["NextToken"])
        self.assert_error(caught, "ValidationException")

    def test_model_constraints_are_validation_exceptions_naming_the_member(self):
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            self.ui("Not_Valid")
        message = self.assert_error(caught, "ValidationException")
        self.assertIn("at 'humanTaskUiName' failed to satisfy constraint", message)
        _, ui_arn = self.ui()
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            self.flow(ui_arn, TaskCount=4, TaskTimeLimitInSeconds=28801)
        message = self.assert_error(caught, "ValidationException")
        self.assertTrue(message.startswith("2 validation errors detected"), message)
        self.assertIn("'humanLoopConfig.taskCount'", message)
        self.assertIn("'humanLoopConfig.taskTimeLimitInSeconds'", message)

    def test_a_flow_on_a_missing_task_ui_is_refused(self):
        missing = "arn:aws:sagemaker:us-east-1:111122223333:human-task-ui/" + unique("missing")
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            self.flow(missing)
        self.assertIn(missing, self.assert_error(caught, "ValidationException"))

    def test_render_ui_template_from_content_or_task_ui_with_errors_in_the_list(self):
        rendered = self.sm.render_ui_template(
            UiTemplate={"Content": TEMPLATE},
            Task={"Input": json.dumps({"text": "<b>bold</b> & more"})},
            RoleArn=ROLE,
        )
        self.assertEqual(
            rendered["RenderedContent"],
            "<crowd-form><p>&lt;b&gt;bold&lt;/b&gt; &amp; more</p></crowd-form>",
        )
        self.assertEqual(rendered["Errors"], [])
        _, ui_arn = self.ui()
        from_ui = self.sm.render_ui_template(
            HumanTaskUiArn=ui_arn, Task={"Input": '{"text": "hi"}'}, RoleArn=ROLE
        )
        self.assertEqual(from_ui["RenderedContent"], "<crowd-form><p>hi</p></crowd-form>")
        failed = self.sm.render_ui_template(
            UiTemplate={"Content": "{{ task.input.nope }}"}, Task={"Input": "{}"}, RoleArn=ROLE
        )
        self.assertEqual(failed["RenderedContent"], "")
        self.assertEqual([e["Code"] for e in failed["Errors"]], ["UndefinedVariable"])
        with self.assertRaises(self.sm.exceptions.ResourceNotFound) as caught:
            self.sm.render_ui_template(
                HumanTaskUiArn=ui_arn + "-missing", Task={"Input": "{}"}, RoleArn=ROLE
            )
        self.assert_error(caught, "ResourceNotFound")
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            self.ui(content="{% if task.input.x %}unclosed")
        self.assertIn("'uiTemplate.content'", self.assert_error(caught, "ValidationException"))

    @unittest.skipUnless(MAX_FLOW_DEFINITIONS, "the server runs without a flow-definition limit")
    def test_past_the_limit_is_resource_limit_exceeded(self):
        _, ui_arn = self.ui()
        existing = [
            s["FlowDefinitionName"]
            for page in self.sm.get_paginator("list_flow_definitions").paginate()
            for s in page["FlowDefinitionSummaries"]
        ]
        created = []
        try:
            for _ in range(MAX_FLOW_DEFINITIONS - len(existing)):
                created.append(self.flow(ui_arn)[0])
            with self.assertRaises(self.sm.exceptions.ResourceLimitExceeded) as caught:
                self.flow(ui_arn)
            self.assert_error(caught, "ResourceLimitExceeded")
        finally:
            for name in created:
                self.sm.delete_flow_definition(FlowDefinitionName=name)


def aws(*args):
    """Runs `aws sagemaker ARGS`; returns (exit code, parsed stdout, stderr)."""
    done = subprocess.run(
        ["aws", "sagemaker", *args, "--endpoint-url", SAGEMAKER_ENDPOINT, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else done.stdout
    return done.returncode, out, done.stderr


class SageMakerAwsCli(unittest.TestCase):
    def ok(self, result):
        code, out, err = result
        self.assertEqual(code, 0, err)
        return out

    def fails_with(self, result, code):
        rc, _, err = result
        self.assertNotEqual(rc, 0)
        self.assertIn(f"({code})", err)
        return err

    def test_every_operation_and_error(self):
        ui = unique("cli-ui")
        ui_arn = self.ok(
            aws("create-human-task-ui", "--human-task-ui-name", ui,
                "--ui-template", json.dumps({"Content": TEMPLATE}))
        )["HumanTaskUiArn"]
        self.fails_with(
            aws("create-human-task-ui", "--human-task-ui-name", ui,
                "--ui-template", json.dumps({"Content": TEMPLATE})),
            "ResourceInUse",
        )
        described = self.ok(aws("describe-human-task-ui", "--human-task-ui-name", ui))
        self.assertEqual(described["HumanTaskUiArn"], ui_arn)
        listed = self.ok(aws("list-human-task-uis", "--sort-order", "Descending"))
        self.assertIn(ui, [s["HumanTaskUiName"] for s in listed["HumanTaskUiSummaries"]])

        flow = unique("cli-flow")
        flow_arn = self.ok(
            aws("create-flow-definition", "--flow-definition-name", flow,
                "--human-loop-config", json.dumps(loop_config(ui_arn)),
                "--output-config", "S3OutputPath=s3://compat-sagemaker-output/cli",
                "--role-arn", ROLE)
        )["FlowDefinitionArn"]
        self.assertTrue(flow_arn.endswith(f":flow-definition/{flow}"))
        described = self.ok(aws("describe-flow-definition", "--flow-definition-name", flow))
        self.assertEqual(described["HumanLoopConfig"]["TaskCount"], 2)
        listed = self.ok(aws("list-flow-definitions"))
        self.assertIn(flow, [s["FlowDefinitionName"] for s in listed["FlowDefinitionSummaries"]])
        err = self.fails_with(
            aws("create-flow-definition", "--flow-definition-name", unique("cli-bad"),
                "--human-loop-config", json.dumps(loop_config(ui_arn, TaskCount=9)),
                "--output-config", "S3OutputPath=s3://compat-sagemaker-output/cli",
                "--role-arn", ROLE),
            "ValidationException",
        )
        self.assertIn("humanLoopConfig.taskCount", err)

        rendered = self.ok(
            aws("render-ui-template", "--human-task-ui-arn", ui_arn,
                "--task", json.dumps({"Input": json.dumps({"text": "<i>x</i>"})}),
                "--role-arn", ROLE)
        )
        self.assertEqual(rendered["RenderedContent"], "<crowd-form><p>&lt;i&gt;x&lt;/i&gt;</p></crowd-form>")
        self.assertEqual(rendered["Errors"], [])
        self.fails_with(
            aws("render-ui-template", "--human-task-ui-arn", ui_arn + "-missing",
                "--task", json.dumps({"Input": "{}"}), "--role-arn", ROLE),
            "ResourceNotFound",
        )

        self.ok(aws("delete-flow-definition", "--flow-definition-name", flow))
        self.fails_with(aws("describe-flow-definition", "--flow-definition-name", flow), "ResourceNotFound")
        self.fails_with(aws("delete-flow-definition", "--flow-definition-name", flow), "ResourceNotFound")
        self.ok(aws("delete-human-task-ui", "--human-task-ui-name", ui))
        self.fails_with(aws("describe-human-task-ui", "--human-task-ui-name", ui), "ResourceNotFound")
        self.fails_with(aws("delete-human-task-ui", "--human-task-ui-name", ui), "ResourceNotFound")
