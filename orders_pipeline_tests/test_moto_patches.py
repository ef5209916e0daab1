"""Every touch of moto's internals still fits the installed moto: an upgrade that moves one fails
here, naming it; and the one patching idiom does what the service modules rely on."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
from moto import backends
from moto.cloudformation import parsing
from moto.core.responses import BaseResponse
from moto.core.serialize import TimestampSerializer

from orders_pipeline.local_stack import patching, services
from orders_pipeline.local_stack.cloudformation.resources import typed
from orders_pipeline.local_stack.s3 import patches as s3_patches
from orders_pipeline.local_stack.s3.cloudformation import lifecycle_rule

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
LOCAL_STACK = Path(services.__file__).resolve().parent

HOOKED_TYPES = [
    "AWS::Pipes::Pipe",
    "AWS::KinesisFirehose::DeliveryStream",
    "AWS::Glue::Database",
    "AWS::Glue::Classifier",
    "AWS::Glue::Crawler",
    "AWS::Athena::WorkGroup",
    "AWS::S3::BucketPolicy",
    "AWS::Logs::LogStream",
]


def test_moto_is_the_exact_version_pyproject_pins():
    pin = re.search(r'"moto\[server\]==([^"]+)"', PYPROJECT.read_text())
    assert pin is not None, "pyproject.toml must pin moto[server]==<version>"
    assert version("moto") == pin.group(1)


@pytest.mark.parametrize("touch", patching.touches(), ids=lambda t: f"{t.kind}:{t.label}")
def test_every_declared_touch_fits_the_installed_moto(touch):
    services.install()
    assert patching.problem(touch) is None


def test_every_service_patches_cloudformation_and_persistence_module_is_installed():
    found = {
        ".".join(path.relative_to(LOCAL_STACK).with_suffix("").parts)
        for pattern in ("*/patches.py", "*/cloudformation.py", "*/persistence.py", "*/metering.py")
        for path in LOCAL_STACK.glob(pattern)
    }
    installed = {module.__name__.split("local_stack.", 1)[1] for module in services.SERVICE_MODULES}
    assert found == installed


def test_every_touch_names_the_module_that_declared_it():
    for touch in patching.touches():
        assert touch.declared_in.startswith("orders_pipeline.local_stack."), touch


@pytest.mark.parametrize("resource_type", HOOKED_TYPES)
def test_cloudformation_maps_the_type_to_our_model_after_install(resource_type):
    services.install()
    model = parsing.get_model_map()[resource_type]
    assert model.__module__.startswith("orders_pipeline.local_stack.")
    # moto only finds direct subclasses.
    assert parsing.CloudFormationModel in model.__bases__


def test_install_is_idempotent():
    services.install()
    patched = (BaseResponse._enrich_response, backends.list_of_moto_modules)
    services.install()
    assert (BaseResponse._enrich_response, backends.list_of_moto_modules) == patched


# ---- the idiom names what an upgrade broke ----------------------------------------------------


class _Moto:
    """Stands in for a moto class after an upgrade."""

    def __init__(self) -> None:
        self.kept = 1

    def method(self, a, b): ...


def _touch(kind, name, replacement=None, expected=()):
    return patching.Touch(kind, _Moto, name, "local_stack.x", replacement, tuple(expected))


def test_a_member_gone_after_an_upgrade_is_named():
    problem = patching.problem(_touch("require", "removed"))
    assert problem is not None
    assert "_Moto.removed is gone: local_stack.x needs updating" in problem


def test_a_replacement_whose_signature_moto_changed_is_named():
    def method(self, a): ...

    problem = patching.problem(_touch("replace", "method", method))
    assert problem is not None and "now takes (self, a, b), not (self, a)" in problem


def test_a_wrapper_is_compared_without_its_original_parameter():
    def method(original, self, a, b): ...

    assert patching.problem(_touch("wrap", "method", method)) is None


def test_a_call_whose_leading_parameters_moved_is_named():
    problem = patching.problem(_touch("calls", "method", expected=("self", "b")))
    assert problem is not None and "now starts (self, a), not (self, b)" in problem


def test_an_addition_moto_now_provides_is_named():
    problem = patching.problem(_touch("add", "method", lambda self: None))
    assert problem is not None and "now exists in moto" in problem


def test_an_instance_attribute_no_longer_assigned_is_named():
    assert patching.problem(_touch("attributes", "__init__", expected=("kept",))) is None
    problem = patching.problem(_touch("attributes", "__init__", expected=("kept", "gone")))
    assert problem is not None and "no longer assigns self.gone" in problem


def test_source_that_no_longer_matches_is_named():
    problem = patching.problem(_touch("source", "method", expected=(r"self\.body",)))
    assert problem is not None and "no longer matches" in problem


# ---- core -------------------------------------------------------------------------------------


def test_response_without_an_xml_request_id_is_returned_as_is_with_motos_headers():
    services.install()
    body = '{"Records": [{"Data": "' + "x" * 1000 + '"}]}'

    headers, returned = BaseResponse._enrich_response({"status": 200}, body)

    assert returned is body
    assert headers["status"] == "200"
    assert headers["x-amzn-requestid"]


def test_xml_request_id_is_still_filled_in():
    services.install()
    body = "<Response><RequestId>placeholder</RequestId></Response>"

    headers, returned = BaseResponse._enrich_response({}, body)

    assert returned == f"<Response><RequestId>{headers['x-amzn-requestid']}</RequestId></Response>"


@pytest.mark.parametrize(
    "value",
    [
        "2024-06-10T08:00:00Z",
        "2024-06-10T08:00:00.293Z",
        "2024-06-10T08:00:00.123456Z",
        "2024-06-10T08:00:00.1234567Z",  # beyond microseconds: moto's own reading
        "2024-06-10T08:00:00+02:00",
        "2024-06-10 08:00:00",
        1718006400.5,
    ],
)
@pytest.mark.parametrize("timestamp_format", ["iso8601", "rfc822", "unixtimestamp"])
def test_timestamps_serialize_as_motos_dateutil_reading_does(value, timestamp_format):
    services.install()
    serializer = TimestampSerializer(timestamp_format)
    motos = patching.moto_original(TimestampSerializer, "_convert_timestamp_to_str")

    patched = serializer._convert_timestamp_to_str(value, timestamp_format)

    assert patched == motos(serializer, value, timestamp_format)


def test_dispatcher_finds_backends_from_the_module_list_taken_once(monkeypatch):
    services.install()
    listed = list(backends.list_of_moto_modules())
    monkeypatch.setattr("os.listdir", lambda path: pytest.fail(f"listed {path} per request"))

    assert list(backends.list_of_moto_modules()) == listed
    assert "dynamodb" in backends.list_of_moto_modules()


# ---- S3 bucket policies and CloudFormation values ---------------------------------------------


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"Bool": {"aws:SecureTransport": "false"}}, False),
        ({"Bool": {"aws:SecureTransport": "true"}}, True),
        ({"Bool": {"AWS:securetransport": ["false", "true"]}}, True),
        ({"StringNotEquals": {"aws:SecureTransport": "true"}}, False),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, None),
        ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, None),
    ],
)
def test_bucket_policy_condition_in_the_local_request_context(condition, holds):
    assert s3_patches.condition_holds(condition, s3_patches.REQUEST_CONTEXT) is holds


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("BatchSize", "ten", "BatchSize must be an integer, got 'ten'"),
        ("Enabled", "yes", "Enabled must be true or false, got 'yes'"),
    ],
)
def test_template_value_of_the_wrong_type_names_the_field(field, text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        typed({"Outer": [{field: text}]})


def test_template_strings_become_the_types_the_api_returns():
    converted = typed(
        {
            "BufferingHints": {"IntervalInSeconds": "1", "SizeInMBs": "5"},
            "Enabled": "True",
            "Prefix": "raw/",
        }
    )
    assert converted == {
        "BufferingHints": {"IntervalInSeconds": 1, "SizeInMBs": 5},
        "Enabled": True,
        "Prefix": "raw/",
    }


def test_lifecycle_rule_from_cloudformation_has_the_api_shape():
    rule = {
        "Id": "expire-errors",
        "Status": "Enabled",
        "Prefix": "errors/",
        "ExpirationInDays": 90,
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }
    assert lifecycle_rule(rule) == {
        "ID": "expire-errors",
        "Status": "Enabled",
        "Filter": {"Prefix": "errors/"},
        "Expiration": {"Days": "90"},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": "1"},
    }


def test_lifecycle_rule_field_we_cannot_apply_is_named():
    with pytest.raises(ValueError, match="TagFilters"):
        lifecycle_rule({"Status": "Enabled", "TagFilters": []})
