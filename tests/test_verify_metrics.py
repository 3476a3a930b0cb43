"""`verify` reading Amazon Managed Service for Prometheus: the SigV4 signer against AWS's published
answers, then whole `verify` runs against fake workspaces (tests/helpers.py FakeAmp) that check
every request's signature and answer Prometheus JSON, errors included."""

from __future__ import annotations

import datetime
import json
import os
import stat
from contextlib import ExitStack

import pytest
import yaml

from components.aws.cluster import KubeconfigCredentials, build_kubeconfig
from components.plan.scrape_config import scrape_configuration
from tests.helpers import FakeAmp, FakeCluster, loopback_server, mesh_series
from verify.amp import AmpError, AwsIdentity, cli_connect, cli_credentials, expected_jobs, identity_of
from verify.checks import ClusterTarget
from verify.cli import main
from verify.sigv4 import EMPTY_SHA256, Credentials, sign

SUITE = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SUITE_TIME = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("url", "params", "headers", "credentials", "region", "service", "when", "signature"),
    [
        # AWS's SigV4 test suite, get-vanilla and get-vanilla-query-order-key-case
        # (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html, the .authz files).
        (
            "https://example.amazonaws.com/",
            [],
            {},
            SUITE,
            "us-east-1",
            "service",
            SUITE_TIME,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
        (
            "https://example.amazonaws.com/",
            [("Param2", "value2"), ("Param1", "value1")],
            {},
            SUITE,
            "us-east-1",
            "service",
            SUITE_TIME,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
        # Amazon S3 API reference, sig-v4-header-based-auth.html, "Example: GET Object": more signed
        # headers, another secret, service and date.
        (
            "https://examplebucket.s3.amazonaws.com/test.txt",
            [],
            {"Range": "bytes=0-9", "x-amz-content-sha256": EMPTY_SHA256},
            Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            "us-east-1",
            "s3",
            datetime.datetime(2013, 5, 24, tzinfo=datetime.UTC),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        ),
    ],
)
def test_the_signer_gives_awss_published_signatures(
    url, params, headers, credentials, region, service, when, signature
):
    signed = sign("GET", url, params, headers, credentials, region, service, when)
    names = ";".join(sorted(["host", "x-amz-date", *(h.lower() for h in headers)]))
    assert signed["Authorization"] == (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{when:%Y%m%d}/{region}/{service}/aws4_request,"
        f" SignedHeaders={names}, Signature={signature}"
    )
    assert signed["x-amz-date"] == f"{when:%Y%m%dT%H%M%SZ}"
    assert credentials.secret_key not in repr(credentials)


# Temporary credentials, as `aws configure export-credentials` prints them for an SSO profile.
CREDS = Credentials("ASIAEXAMPLEKEY", "c2VjcmV0LWtleS1vZi10aGUtdGVzdA", "session-token-of-the-test")
REGIONS = {"east": "us-east-1", "west": "us-west-2"}


def outputs(regions: dict, endpoints: dict | None, samples=True, local_first=False) -> dict:
    credentials = KubeconfigCredentials(profile="mesh-admin", config_file="/home/ops/.aws/config")
    clusters = {
        name: {
            "kubeconfig": build_kubeconfig(f"{name}-eks", region, f"https://{name}.eks.example", "Y2E=", credentials),
            "endpoint": f"https://{name}.eks.example",
            "eastWestAddress": f"{name}.elb.example",
            "localityLoadBalancing": local_first,
            **({"sampleVersion": f"v{i + 1}"} if samples else {}),
        }
        for i, (name, region) in enumerate(regions.items())
    }
    return {"clusters": clusters, **({"metricsEndpoints": endpoints} if endpoints is not None else {})}


class Mesh:
    """Fake clusters, and a fake workspace per region serving `series`."""

    def __init__(self, regions=REGIONS, series=None, credentials=CREDS):
        self.regions, self.credentials = regions, credentials
        series = mesh_series(regions) if series is None else series
        self.amps = {r: FakeAmp(r, CREDS, series.get(r, ())) for r in dict.fromkeys(regions.values())}
        versions = [f"v{i + 1}" for i in range(len(regions))]
        self.clusters = {n: FakeCluster(n, [p for p in regions if p != n], versions) for n in regions}
        self.asked: list[AwsIdentity] = []

    def lookup(self, identity: AwsIdentity) -> Credentials:
        self.asked.append(identity)
        return self.credentials

    def run(self, tmp_path, capsys, edit=lambda endpoints: endpoints, **fields):
        """`verify` with its output rows; `edit` changes the workspace endpoints the outputs name."""
        with ExitStack() as stack:
            urls = {r: stack.enter_context(loopback_server(a.handler())) for r, a in self.amps.items()}
            endpoints = edit({r: f"{urls[r]}/workspaces/{a.workspace}/" for r, a in self.amps.items()})
            path = tmp_path / "outputs.json"
            path.write_text(json.dumps(outputs(self.regions, endpoints, **fields)))
            code = main(
                ["--outputs", str(path)],
                connect=lambda t: self.clusters[t.name],
                amp=cli_connect(credentials=self.lookup, timeout=5),
            )
        out = capsys.readouterr().out
        rows = {}
        for line in out.splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0] in self.regions and parts[1].startswith("metrics "):
                check, rest = parts[1][:16], parts[1][16:].strip()
                result, _, detail = rest.partition("  ")
                rows[parts[0], check.strip()] = (result, detail.strip())
        return code, out, rows


def test_a_healthy_mesh_is_scraped_and_its_cross_cluster_requests_succeed(tmp_path, capsys):
    mesh = Mesh()
    code, out, rows = mesh.run(tmp_path, capsys)
    assert code == 0, out
    for name in REGIONS:
        result, detail = rows[name, "metrics scraped"]
        assert result == "pass", detail
        assert "istiod 2/2 up" in detail and "eastwest-gateway 1/1 up" in detail and "istio-proxies 3/3 up" in detail
        result, detail = rows[name, "metrics requests"]
        peer = "west" if name == "east" else "east"
        # Only the callers' reports count: the destination's 30 of the same requests are not added.
        assert result == "pass" and detail == f"to {peer}: 100.0% of 30 succeeded", detail
    # Each region's workspace was asked, signed for its region (the fake refuses anything else),
    # with the kubeconfigs' profile and config file, looked up once for both clusters.
    assert all(len(a.queries) == 2 for a in mesh.amps.values())
    assert 'up{cluster="east"}' in mesh.amps["us-east-1"].queries
    assert {(i.profile, i.env) for i in mesh.asked} == {("mesh-admin", (("AWS_CONFIG_FILE", "/home/ops/.aws/config"),))}
    assert len(mesh.asked) == 1


def test_verify_expects_the_jobs_the_collectors_scrape():
    jobs = {j["job_name"] for j in yaml.safe_load(scrape_configuration("east", "n1"))["scrape_configs"]}
    everything = ClusterTarget("east", {}, "?", sample_version="v1", has_gateway=True)
    assert set(expected_jobs(everything)) == jobs
    bare = ClusterTarget("east", {}, "?", sample_version=None, has_gateway=False)
    assert set(expected_jobs(bare)) == {"istiod", "kubernetes-apiservers"}


def _down(series):
    """istiod of east no longer answers the collector."""
    return [(n, l, 0 if n == "up" and l["job"] == "istiod" and l["cluster"] == "east" else v) for n, l, v in series]


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("wrong secret", ["AMP us-east-1 (signature): AMP refused the signature", "clock"]),
        ("no permission", ["(access)", "not authorized to perform: aps:QueryMetrics", "allow aps:QueryMetrics"]),
        ("expired", ["(credentials)", "security token", "log in"]),
        (
            "not scraped",
            [
                "not scraped",
                'no series with cluster="east"',
                "list-scrapers --region us-east-1",
                "alias east-eks",
                "east-metrics-collector-sg",
                "list-access-entries --cluster-name east-eks",
            ],
        ),
        ("target down", ["istiod 0/2 up", "targets down"]),
        ("no traffic", ["no sample traffic yet", "run verify again"]),
        ("5xx", ["to west: 80.0% of 30 succeeded", "over 5% of the requests to west failed"]),
        ("no workspace", ["(workspace)", "no workspace at", "run pulumi up"]),
        ("no AMP", ["(network)", "cannot connect to 127.0.0.1"]),
        ("AMP failing", ["(unavailable)", "HTTP 503"]),
        ("not Prometheus", ["(unavailable)", "not Prometheus JSON"]),
        ("query refused", ["(query)", "AMP refused the query: parse error"]),
    ],
)
def test_each_failure_is_named_by_its_cause(tmp_path, capsys, case, says):
    series = mesh_series(REGIONS)
    if case == "not scraped":
        series["us-east-1"] = [s for s in series["us-east-1"] if s[1].get("cluster") != "east"]
    elif case == "target down":
        series["us-east-1"] = _down(series["us-east-1"])
    elif case == "no traffic":
        series["us-east-1"] = [s for s in series["us-east-1"] if s[0] != "istio_requests_total"]
    elif case == "5xx":
        series = mesh_series(REGIONS, failed={("east", "west"): 6})
    mesh = Mesh(series=series)
    edit = lambda endpoints: endpoints  # noqa: E731
    if case == "wrong secret":
        mesh.credentials = Credentials(CREDS.access_key, "not-the-secret", CREDS.token)
    elif case == "no permission":
        mesh.amps["us-east-1"].failure = (
            403,
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/dev/ops is not authorized to perform: aps:QueryMetrics on"
            " resource: arn:aws:aps:us-east-1:123456789012:workspace/ws-0123",
        )
    elif case == "expired":
        mesh.amps["us-east-1"].failure = (
            403,
            "ExpiredTokenException",
            "The security token included in the request is expired",
        )
    elif case == "AMP failing":
        mesh.amps["us-east-1"].failure = (503, "ServiceUnavailableException", "try again")
    elif case == "not Prometheus":
        mesh.amps["us-east-1"].failure = (200, None, "<html>a proxy's login page</html>")
    elif case == "query refused":
        mesh.amps["us-east-1"].failure = (400, None, "parse error")
    elif case == "no workspace":
        edit = lambda endpoints: {**endpoints, "us-east-1": endpoints["us-east-1"].replace("ws-0123", "ws-gone")}  # noqa: E731
    elif case == "no AMP":
        with loopback_server(mesh.amps["us-east-1"].handler()) as dead:
            pass  # a port nothing listens on any more
        edit = lambda endpoints: {**endpoints, "us-east-1": f"{dead}/workspaces/ws-0123/"}  # noqa: E731
    code, out, rows = mesh.run(tmp_path, capsys, edit)
    assert code == 1, out
    east = " ".join(f"{check} {result} {detail}" for (name, check), (result, detail) in rows.items() if name == "east")
    assert "FAIL" in east, out
    for text in says:
        assert text in east, (text, east)
    if case != "wrong secret":  # with the wrong secret every workspace refuses
        assert all(result == "pass" for (name, _), (result, _) in rows.items() if name == "west"), out


def test_metrics_off_says_so_and_skips(tmp_path, capsys):
    mesh = Mesh()
    mesh.lookup = lambda identity: pytest.fail("metrics off: AMP must not be asked")
    code, out, rows = mesh.run(tmp_path, capsys, edit=lambda endpoints: {})
    assert code == 0, out
    assert not rows and "metrics: not on" in out and "AMP checks skipped" in out


def test_local_first_callers_that_stay_local_pass_and_without_it_fail(tmp_path, capsys):
    series = {
        region: [s for s in found if s[1].get("source_cluster") == s[1].get("destination_cluster")]
        for region, found in mesh_series(REGIONS).items()
    }
    code, out, rows = Mesh(series=series).run(tmp_path, capsys, local_first=True)
    assert code == 0, out
    assert rows["east", "metrics requests"] == (
        "pass",
        "30 requests, all inside east (localityLoadBalancing keeps callers local; --drill failover)",
    )
    code, out, rows = Mesh(series=series).run(tmp_path, capsys, local_first=False)
    assert code == 1 and rows["east", "metrics requests"][0] == "FAIL"
    assert "none of 30 requests from east left it" in rows["east", "metrics requests"][1]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (["https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/"], "got a list"),
        ({"us-east-1": 7}, "must be an object of region: workspace endpoint URL"),
        ({"us-east-1": "aps-workspaces.us-east-1.amazonaws.com"}, "must be an object of region"),
    ],
)
def test_unusable_metrics_endpoints_stop_before_anything_is_asked(tmp_path, capsys, value, says):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({**outputs(REGIONS, None), "metricsEndpoints": value}))
    code = main(["--outputs", str(path)], connect=lambda t: pytest.fail("must not connect"))
    assert code == 2 and says in capsys.readouterr().err


def _fake_aws(tmp_path, monkeypatch, script: str) -> None:
    """An `aws` on PATH that runs `script` (sh), recording its arguments and AWS_CONFIG_FILE."""
    aws = tmp_path / "bin" / "aws"
    aws.parent.mkdir()
    aws.write_text(f'#!/bin/sh\necho "$@ $AWS_CONFIG_FILE" > {tmp_path}/args\n{script}\n')
    aws.chmod(aws.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{aws.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("AWS_CONFIG_FILE", raising=False)


def test_credentials_come_from_the_aws_cli_with_the_kubeconfigs_profile(tmp_path, monkeypatch):
    answer = {"Version": 1, "AccessKeyId": "ASIAX", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "x"}
    _fake_aws(tmp_path, monkeypatch, f"echo '{json.dumps(answer)}'")
    identity = AwsIdentity("us-east-1", "east-eks", "mesh-admin", (("AWS_CONFIG_FILE", "/ops/config"),))
    assert cli_credentials(identity) == Credentials("ASIAX", "s", "t")
    assert (tmp_path / "args").read_text().split() == [
        "configure",
        "export-credentials",
        "--format",
        "process",
        "--profile",
        "mesh-admin",
        "/ops/config",
    ]


@pytest.mark.parametrize(
    ("script", "says"),
    [
        ("echo 'The SSO session associated with this profile has expired' >&2; exit 255", "has expired"),
        ("echo 'not json'", "printed no credentials"),
    ],
)
def test_credentials_the_aws_cli_cannot_give_are_named(tmp_path, monkeypatch, script, says):
    _fake_aws(tmp_path, monkeypatch, script)
    with pytest.raises(AmpError) as caught:
        cli_credentials(AwsIdentity("us-east-1", "east-eks"))
    assert caught.value.cause == "credentials" and says in str(caught.value)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(AmpError, match="the AWS CLI is not on PATH"):
        cli_credentials(AwsIdentity("us-east-1", "east-eks"))


def test_a_kubeconfig_that_assumes_a_role_queries_amp_as_that_role(tmp_path, monkeypatch):
    role = "arn:aws:iam::123456789012:role/mesh-operators"
    kubeconfig = json.loads(
        build_kubeconfig("east-eks", "us-east-1", "https://e", "Y2E=", KubeconfigCredentials("ops", role))
    )
    identity = identity_of(kubeconfig)
    assert identity == AwsIdentity("us-east-1", "east-eks", "ops", (), role)
    assumed = {"Credentials": {"AccessKeyId": "ASIAROLE", "SecretAccessKey": "r", "SessionToken": "rt"}}
    _fake_aws(tmp_path, monkeypatch, f"[ \"$1\" = sts ] && echo '{json.dumps(assumed)}' || echo '{{}}'")
    assert cli_credentials(identity) == Credentials("ASIAROLE", "r", "rt")
    args = (tmp_path / "args").read_text().split()
    assert args[:4] == ["sts", "assume-role", "--role-arn", role] and args[-2:] == ["--profile", "ops"]
    # A kubeconfig of another kind (a reader token) says nothing of AWS.
    assert identity_of({"users": [{"name": "x", "user": {"token": "t"}}]}) is None
