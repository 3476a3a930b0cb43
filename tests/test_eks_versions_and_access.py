"""EKS day 2: managed add-ons, Kubernetes versions and support policy, cluster admins, credentials
that follow the stack, and the load balancer controller's values."""

from __future__ import annotations

import datetime
import json
from dataclasses import replace

import pulumi
import pytest
import yaml
from kubernetes.config.kube_config import KubeConfigLoader

from components.aws.providers import provider_args
from components.config.aws_settings import parse_aws_settings
from components.config.eks import support_warnings
from components.config.parse import parse_mesh_spec
from components.config.validate import ConfigError
from components.model import versions
from components.model.aws_settings import AwsSettings
from components.model.deployed import LastDeployment
from components.plan.principals import caller_principal, same_principal
from tests.harness import ROOT, Run, cached_run, resolve, run_program
from tests.helpers import mesh_config, mocks_with, recorded
from tests.impact import REPLACED, UPDATED, change_impact, of_kind

ADDON = "aws:eks/addon:Addon"
ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ADMIN = "arn:aws:iam::111122223333:role/platform-admins"
PERSON = "arn:aws:iam::111122223333:user/alice"
TODAY = datetime.date(2026, 12, 1)


def ok(config: dict, **kwargs) -> Run:
    run = cached_run(config, **kwargs)
    assert run.error is None, run.error
    return run


def with_clusters(count: int, **fields) -> dict:
    config = mesh_config(count)
    config["clusters"] = [{**c, **fields} for c in config["clusters"]]
    return config


def parse(raw: dict, region: str = "us-east-1"):
    return parse_mesh_spec(raw, default_region=region, stack="dev")


def problems_of(raw: dict, region: str = "us-east-1") -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, region)
    return dict(caught.value.problems)


def exec_args(run: Run, cluster: str) -> list[str]:
    kubeconfig, secret = resolve(run.exports["clusters"][cluster]["kubeconfig"])
    assert secret
    loader = KubeConfigLoader(config_dict=json.loads(kubeconfig))
    return loader._user["exec"].value["args"]


# --- managed add-ons -------------------------------------------------------------------------------


def test_coredns_is_a_managed_addon_after_the_nodes_in_every_cluster(mesh_run):
    clusters = mesh_run.of_type("eks:index:Cluster")
    addons = [a for a in mesh_run.of_type(ADDON) if a.inputs["addonName"] == "coredns"]
    assert len(addons) == len(clusters)
    for cluster in clusters:
        name = cluster.name.removesuffix("-eks")
        coredns = mesh_run.one(ADDON, f"{name}-addons-coredns")
        assert coredns.inputs["addonName"] == "coredns"
        assert coredns.inputs["clusterName"] == cluster.inputs["name"]
        # The mock lists builds per Kubernetes minor: the default (recommended) one is build 1, the
        # newest build 2; EKS's recommendation is what is installed.
        assert coredns.inputs["addonVersion"].startswith(f"v1.{versions.DEFAULT_KUBERNETES_VERSION.split('.')[1]}.")
        assert coredns.inputs["addonVersion"].endswith("-eksbuild.1")
        # Adopts the bootstrap Deployment, and a version bump is never blocked by a hand edit.
        assert coredns.inputs["resolveConflictsOnCreate"] == coredns.inputs["resolveConflictsOnUpdate"] == "OVERWRITE"
        assert coredns.inputs["preserve"] is True
        nodes = mesh_run.one("eks:index:ManagedNodeGroup", f"{name}-nodes")
        assert mesh_run.depends_on(coredns, nodes) and not mesh_run.depends_on(nodes, coredns)
        # vpc-cni and kube-proxy: pulumi-eks's own managed add-ons, inside the cluster component the
        # nodes wait for, always given a version (else it takes the newest build on every run).
        assert mesh_run.depends_on(nodes, cluster)
        assert cluster.inputs["vpcCniOptions"]["addonVersion"].endswith("-eksbuild.1")
        assert cluster.inputs["kubeProxyAddonOptions"]["version"].endswith("-eksbuild.1")
        assert "useDefaultVpcCni" not in cluster.inputs


def test_a_kubernetes_bump_updates_control_plane_nodes_and_addons_in_place():
    # What a stack that relied on the previous default sees when the default moves on.
    major, minor = versions.DEFAULT_KUBERNETES_VERSION.split(".")
    previous = f"{major}.{int(minor) - 1}"
    # Past standard support now, so kept with EXTENDED until the upgrade (then STANDARD again).
    before = ok(with_clusters(1, kubernetesVersion=previous, supportType="EXTENDED"))
    after = ok(mesh_config(1))
    impact = change_impact(before, after)
    assert of_kind(impact, REPLACED) == set()
    assert {k for k in of_kind(impact, UPDATED) if k[0] in ("eks:index:Cluster", ADDON)} == {
        ("eks:index:Cluster", "c0-eks"),
        (ADDON, "c0-addons-coredns"),
        # The EKS Pod Identity Agent moves to EKS's default for the new version too.
        (ADDON, "c0-vpc-cni-agent"),
    }
    old, new = (run.one(ADDON, "c0-addons-coredns").inputs["addonVersion"] for run in (before, after))
    assert old.startswith(f"v1.{int(minor) - 1}.") and new.startswith(f"v1.{minor}.")


def test_pinned_addon_versions_reach_their_addons_and_change_nothing_else():
    pins = {"vpc-cni": "v1.20.4-eksbuild.2", "coredns": "v1.12.1-eksbuild.2", "kube-proxy": "v1.35.0-eksbuild.2"}
    config = mesh_config(2)
    config["clusters"][0]["addonVersions"] = pins
    run = ok(config)
    assert run.one(ADDON, "c0-addons-coredns").inputs["addonVersion"] == pins["coredns"]
    pinned = run.one("eks:index:Cluster", "c0-eks").inputs
    assert pinned["vpcCniOptions"]["addonVersion"] == pins["vpc-cni"]
    assert pinned["kubeProxyAddonOptions"]["version"] == pins["kube-proxy"]
    assert run.one("eks:index:Cluster", "c1-eks").inputs["vpcCniOptions"]["addonVersion"] not in pins.values()
    impact = change_impact(ok(mesh_config(2)), run)
    assert of_kind(impact, REPLACED) == set()
    assert {k for k, what in impact.items() if what != "unchanged"} == {
        ("eks:index:Cluster", "c0-eks"),
        (ADDON, "c0-addons-coredns"),
    }


def addon_inputs(run: Run) -> dict[str, dict[str, str]]:
    """Per cluster, the version each managed add-on is given."""
    assert run.error is None, run.error
    found = {}
    for cluster in run.of_type("eks:index:Cluster"):
        name = cluster.name.removesuffix("-eks")
        found[name] = {
            "vpc-cni": cluster.inputs["vpcCniOptions"]["addonVersion"],
            "kube-proxy": cluster.inputs["kubeProxyAddonOptions"]["version"],
            "coredns": run.one(ADDON, f"{name}-addons-coredns").inputs["addonVersion"],
        }
    return found


def test_two_runs_of_one_config_give_the_same_addon_versions_after_aws_publishes_builds():
    config = mesh_config(2)
    first = run_program(config)
    # AWS publishes newer builds of every add-on (and a new default) between the runs.
    second = run_program(config, mock_factory=mocks_with(builds_published=3, last_outputs=recorded(first)))
    assert addon_inputs(second) == addon_inputs(first)
    assert not [token for token, _ in second.invokes if token == "aws:eks/getAddonVersion:getAddonVersion"]
    assert {k: what for k, what in change_impact(first, second).items() if what != "unchanged"} == {}
    # Without the record (a stack that lost it, or the program before it), EKS's answer moves them.
    assert addon_inputs(run_program(config, mock_factory=mocks_with(builds_published=3))) != addon_inputs(first)


def test_addon_versions_move_with_the_kubernetes_version_and_never_down():
    major, minor = versions.DEFAULT_KUBERNETES_VERSION.split(".")
    previous = f"{major}.{int(minor) - 1}"
    # Deployed on the previous minor with a vpc-cni newer than the next minor's default (pinned
    # then, the pin dropped since: the record keeps it).
    before = run_program(
        with_clusters(
            1, kubernetesVersion=previous, supportType="EXTENDED", addonVersions={"vpc-cni": "v1.99.0-eksbuild.9"}
        )
    )
    after = run_program(
        with_clusters(1, kubernetesVersion=versions.DEFAULT_KUBERNETES_VERSION),
        mock_factory=mocks_with(last_outputs=recorded(before)),
    )
    old, new = addon_inputs(before)["c0"], addon_inputs(after)["c0"]
    assert old["kube-proxy"].startswith(f"v1.{int(minor) - 1}.") and new["kube-proxy"].startswith(f"v1.{minor}.")
    assert new["coredns"] != old["coredns"]
    assert new["vpc-cni"] == "v1.99.0-eksbuild.9"


def test_a_cluster_deployed_before_the_record_changes_no_addon_on_its_first_run():
    # The earlier release: pulumi-eks took the newest vpc-cni and kube-proxy (build 2 in the
    # mocks), the program EKS's default CoreDNS (build 1); this run asks the same once more.
    run = run_program(mesh_config(1), mock_factory=mocks_with(last_outputs={"clusters": {"c0": {}}}))
    got = addon_inputs(run)["c0"]
    assert (
        got["vpc-cni"].endswith("-eksbuild.2")
        and got["kube-proxy"].endswith("-eksbuild.2")
        and got["coredns"].endswith("-eksbuild.1")
    )
    assert resolve(run.exports["addonVersions"])[0]["c0"] == {
        "kubernetesVersion": versions.DEFAULT_KUBERNETES_VERSION,
        **got,
    }


def test_a_record_without_an_addon_never_takes_it_below_what_runs():
    # A hand-edited record (or an add-on managed later): the deployed cluster asks as before.
    last = {
        "clusters": {"c0": {}},
        "addonVersions": {
            "c0": {"kubernetesVersion": versions.DEFAULT_KUBERNETES_VERSION, "coredns": "v1.12.1-eksbuild.2"}
        },
    }
    got = addon_inputs(run_program(mesh_config(1), mock_factory=mocks_with(last_outputs=last)))["c0"]
    assert got["coredns"] == "v1.12.1-eksbuild.2" and got["vpc-cni"].endswith("-eksbuild.2")


def test_an_addon_pin_wins_over_the_record():
    first = run_program(mesh_config(1))
    config = with_clusters(1, addonVersions={"coredns": "v1.12.1-eksbuild.2"})
    second = run_program(config, mock_factory=mocks_with(last_outputs=recorded(first)))
    assert addon_inputs(second)["c0"] == {**addon_inputs(first)["c0"], "coredns": "v1.12.1-eksbuild.2"}


@pytest.mark.parametrize(
    "pins, key",
    [
        ("v1.12.1-eksbuild.2", "clusters[0].addonVersions"),
        ({"CoreDNS": "v1.12.1-eksbuild.2"}, "clusters[0].addonVersions.CoreDNS"),
        ({"coredns": "1.12.1"}, "clusters[0].addonVersions.coredns"),
        ({"coredns": "v1.12.1-eksbuild.2\n"}, "clusters[0].addonVersions.coredns"),
        ({"coredns": 1.12}, "clusters[0].addonVersions.coredns"),
        ({"kube-proxy": None}, "clusters[0].addonVersions.kube-proxy"),
    ],
)
def test_bad_addon_pins_are_refused_with_their_key(pins, key):
    assert key in problems_of({"clusters": [{"name": "east", "addonVersions": pins}]})


# --- versions and support policy ---------------------------------------------------------------------


def test_default_version_is_in_standard_support_and_supported_by_istio():
    spec = parse({"clusters": [{"name": "east"}]})
    version = spec.clusters[0].kubernetes_version
    assert version == versions.DEFAULT_KUBERNETES_VERSION
    assert datetime.date.fromisoformat(versions.STANDARD_SUPPORT_ENDS[version]) > TODAY
    assert spec.clusters[0].eks.support_type == "STANDARD"
    assert support_warnings(spec.clusters, TODAY) == []


@pytest.mark.parametrize("version", ["1.32", "1.33", "1.34", "1.35", "1.36"])
def test_versions_both_eks_and_istio_1_30_support_are_accepted(version):
    cluster = {"name": "east", "kubernetesVersion": version, "supportType": "EXTENDED"}
    assert parse({"clusters": [cluster]}).clusters[0].kubernetes_version == version


def deployed(*versions_by_cluster: tuple[str, str]) -> LastDeployment:
    """A stack whose last update had these clusters, on these Kubernetes versions."""
    return LastDeployment(
        clusters=frozenset(name for name, _ in versions_by_cluster),
        addon_versions={name: {"kubernetesVersion": v} for name, v in versions_by_cluster},
    )


def at(day: str, *clusters: dict, last: LastDeployment = LastDeployment()) -> list[tuple[str, str]]:
    """The problems of `clusters` on `day`."""
    now = datetime.datetime.fromisoformat(day + "T12:00:00+00:00")
    try:
        parse_mesh_spec({"clusters": list(clusters)}, default_region="us-east-1", stack="dev", now=now, last=last)
    except ConfigError as err:
        return err.problems
    return []


def test_kubernetes_1_36_is_the_default_for_new_clusters_and_a_deployed_one_keeps_its_version():
    # 1.36 on EKS: 2026-06-02, standard support through 2027-08-02 (versions.py names the sources).
    assert versions.STANDARD_SUPPORT_ENDS["1.36"] == "2027-08-02"
    assert parse({"clusters": [{"name": "east"}]}).clusters[0].kubernetes_version == "1.36"
    # Deployed on 1.35 with no kubernetesVersion set: a newer default must not upgrade it.
    kept = parse_mesh_spec(
        {"clusters": [{"name": "east"}, {"name": "new"}]},
        default_region="us-east-1",
        stack="dev",
        last=deployed(("east", "1.35")),
    )
    assert [c.kubernetes_version for c in kept.clusters] == ["1.35", "1.36"]


def day_before(day: str) -> str:
    return str(datetime.date.fromisoformat(day) - datetime.timedelta(days=1))


def test_the_calendar_of_every_listed_version_for_new_and_deployed_clusters():
    """Each version's last day of standard and of extended support, and the day after, for a new
    and a deployed cluster on either policy: what the stack gets (refused keys, warnings)."""
    for version in versions.SUPPORTED_KUBERNETES_VERSIONS:
        standard, extended = versions.STANDARD_SUPPORT_ENDS[version], versions.EXTENDED_SUPPORT_ENDS[version]
        nxt = f"1.{int(version.split('.')[1]) + 1}"
        for policy in ("STANDARD", "EXTENDED"):
            cluster = {"name": "east", "kubernetesVersion": version, "supportType": policy}
            for day, phase in (
                (day_before(standard), "last standard day"),
                (standard, "extended"),
                (day_before(extended), "extended"),
                (extended, "gone"),
            ):
                case = f"{version} {policy} on {day}"
                new_problems = [key for key, _ in at(day, cluster)]
                expected_new = {
                    "last standard day": [],
                    "extended": ["clusters[0].supportType"] if policy == "STANDARD" else [],
                    "gone": ["clusters[0].kubernetesVersion"],
                }[phase]
                assert new_problems == expected_new, case
                # Deployed: never refused for a date; the warning says what EKS does and what to do.
                last = deployed(("east", version))
                assert at(day, cluster, last=last) == [], case
                spec = parse_mesh_spec(
                    {"clusters": [cluster]},
                    default_region="us-east-1",
                    stack="dev",
                    now=datetime.datetime.fromisoformat(day + "T12:00:00+00:00"),
                    last=last,
                )
                [warning] = support_warnings(spec.clusters, datetime.date.fromisoformat(day), last.clusters)
                if phase == "last standard day":
                    assert f"leaves EKS standard support on {standard} (tomorrow)" in warning, case
                elif phase == "extended" and policy == "STANDARD":
                    assert f"upgrades the control plane to {nxt} itself" in warning, case
                    assert f'set kubernetesVersion: "{nxt}"' in warning and "--refresh" in warning, case
                elif phase == "extended":
                    assert "$0.60" in warning and f"until extended support ends on {extended}" in warning, case
                else:
                    assert f"left EKS extended support on {extended}" in warning, case
                    assert f'set kubernetesVersion: "{nxt}"' in warning, case


def test_a_deployed_stack_file_is_accepted_on_every_day_through_2028():
    # The shipped stacks, deployed as they are: on no day does a date refuse them.
    for stack in ("staging", "prod"):
        config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        clusters = config["istio-eks-mesh:clusters"]
        last = deployed(*((c["name"], c["kubernetesVersion"]) for c in clusters))
        day = datetime.date(2026, 12, 1)
        while day <= datetime.date(2028, 12, 31):
            assert at(str(day), *clusters, last=last) == [], (stack, day)
            day += datetime.timedelta(days=7)


def test_the_version_eks_upgraded_a_cluster_to_past_the_list_is_accepted_where_it_ran_the_newest():
    newest = versions.SUPPORTED_KUBERNETES_VERSIONS[-1]
    beyond = f"1.{int(newest.split('.')[1]) + 1}"
    cluster = {"name": "east", "kubernetesVersion": beyond}
    assert [k for k, _ in at("2026-12-07", cluster)] == ["clusters[0].kubernetesVersion"]
    assert [k for k, _ in at("2026-12-07", cluster, last=deployed(("east", "1.35")))] == [
        "clusters[0].kubernetesVersion"
    ]
    # EKS upgraded the newest listed version itself: the stack names what runs, and is told what is unknown.
    for recorded_version in (newest, beyond):
        last = deployed(("east", recorded_version))
        assert at("2028-09-01", cluster, last=last) == []
        spec = parse_mesh_spec({"clusters": [cluster]}, default_region="us-east-1", stack="dev", last=last)
        [warning] = support_warnings(spec.clusters, datetime.date(2028, 9, 1), last.clusters)
        assert "newer than this release" in warning and "Upgrade istio-eks-mesh" in warning
    too_far = {"name": "east", "kubernetesVersion": f"1.{int(beyond.split('.')[1]) + 1}"}
    assert [k for k, _ in at("2028-09-01", too_far, last=deployed(("east", beyond)))] == [
        "clusters[0].kubernetesVersion"
    ]


def test_a_deployed_standard_cluster_past_standard_support_deploys_with_a_warning():
    # The clock is pinned to 2026-12-07, after 1.34 left standard support (2026-12-02).
    last = {"clusters": {"c0": {}}, "addonVersions": {"c0": {"kubernetesVersion": "1.34"}}}
    run = run_program(with_clusters(1, kubernetesVersion="1.34"), mock_factory=mocks_with(last_outputs=last))
    assert run.error is None, run.error
    assert any("upgrades the control plane to 1.35 itself" in w for w in run.warnings)


@pytest.mark.calendar
def test_the_version_table_is_refreshed_90_days_before_its_newest_version_leaves_standard_support():
    """Reads the real date, by design: fails from 90 days before the newest listed version leaves
    standard support, so a newer one (EKS releases one about every four months) is added in time."""
    newest = versions.SUPPORTED_KUBERNETES_VERSIONS[-1]
    ends = datetime.date.fromisoformat(versions.STANDARD_SUPPORT_ENDS[newest])
    stale_from = ends - datetime.timedelta(days=versions.VERSION_TABLE_NOTICE_DAYS)
    assert datetime.date.today() < stale_from, (
        f"Kubernetes {newest}, the newest in components/model/versions.py, leaves EKS standard support on {ends}:"
        " add the version EKS offers now, with its dates and sources, and make it the default"
    )


def test_a_version_past_extended_support_is_refused_for_a_new_cluster_whatever_the_policy():
    for support in ("STANDARD", "EXTENDED"):
        problems = at("2027-12-02", {"name": "east", "kubernetesVersion": "1.34", "supportType": support})
        assert [key for key, _ in problems] == ["clusters[0].kubernetesVersion"], support
        assert "extended support ended on 2027-12-02" in problems[0][1] and "set 1.36" in problems[0][1]
    assert at("2027-12-01", {"name": "east", "kubernetesVersion": "1.34", "supportType": "EXTENDED"}) == []


@pytest.mark.parametrize("version", ["1.31", "1.37", "1.35.0", "v1.35", 1.35, "1.35\n"])
def test_other_versions_are_refused(version):
    assert "clusters[0].kubernetesVersion" in problems_of(
        {"clusters": [{"name": "east", "kubernetesVersion": version}]}
    )


def test_clusters_are_warned_before_their_version_leaves_standard_support():
    spec = parse(
        {
            "clusters": [
                {"name": "east", "kubernetesVersion": "1.35"},
                {"name": "west", "kubernetesVersion": "1.35", "supportType": "EXTENDED"},
            ]
        }
    )
    assert support_warnings(spec.clusters, datetime.date(2027, 1, 25)) == []
    standard, extended = support_warnings(spec.clusters, datetime.date(2027, 1, 26))
    assert "'east'" in standard and "2027-03-27 (in 60 days)" in standard and "to 1.36 itself" in standard
    assert "'west'" in extended and "2027-03-27 (in 60 days)" in extended and "$0.60" in extended


def test_an_old_version_deploys_with_a_warning():
    run = ok(with_clusters(1, kubernetesVersion="1.32", supportType="EXTENDED"))
    warned = [w for w in run.warnings if "1.32 left EKS standard support on 2026-03-23" in w]
    assert len(warned) == 1


def test_upgrade_policy_on_every_cluster_follows_support_type(mesh_run):
    for cluster in mesh_run.of_type("eks:index:Cluster"):
        assert cluster.inputs["upgradePolicy"] == {"supportType": "STANDARD"}
    config = mesh_config(2)
    config["clusters"][1]["supportType"] = "EXTENDED"
    run = ok(config)
    assert run.one("eks:index:Cluster", "c1-eks").inputs["upgradePolicy"] == {"supportType": "EXTENDED"}
    impact = change_impact(ok(mesh_config(2)), run)
    assert {k for k, what in impact.items() if what != "unchanged"} == {("eks:index:Cluster", "c1-eks")}
    assert impact[("eks:index:Cluster", "c1-eks")] == UPDATED


@pytest.mark.parametrize("value", ["standard", "", None, True, ["STANDARD"]])
def test_bad_support_type_is_refused(value):
    assert "clusters[0].supportType" in problems_of({"clusters": [{"name": "east", "supportType": value}]})


# --- team access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 6])
def test_cluster_admins_get_an_admin_entry_on_every_cluster(count):
    run = ok(mesh_config(count, clusterAdmins=[ADMIN, PERSON]))
    for cluster in run.of_type("eks:index:Cluster"):
        name = cluster.name.removesuffix("-eks")
        entries = [e for e in run.of_type(ENTRY) if e.name.startswith(f"{name}-admin-")]
        assert sorted(e.inputs["principalArn"] for e in entries) == sorted([ADMIN, PERSON])
        provider = run.one("pulumi:providers:kubernetes", f"{name}-k8s")
        for entry in entries:
            assert entry.inputs["clusterName"] == cluster.inputs["name"] and entry.inputs["type"] == "STANDARD"
            [association] = [a for a in run.of_type(ASSOCIATION) if a.name == f"{entry.name}-policy"]
            assert (
                association.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
            )
            assert association.inputs["accessScope"] == {"type": "cluster"}
            assert association.inputs["principalArn"] == entry.inputs["principalArn"]
            # Destroy removes what is in the cluster while the admins can still reach it.
            assert run.depends_on(provider, association) and run.depends_on(association, entry)
        for release in run.of_type("kubernetes:helm.sh/v3:Release"):
            if release.provider_urn == provider.urn:
                assert all(run.depends_on(release, e) for e in entries)


def test_removing_an_admin_deletes_only_its_entry():
    before = ok(mesh_config(2, clusterAdmins=[ADMIN, PERSON]))
    after = ok(mesh_config(2, clusterAdmins=[PERSON]))
    impact = change_impact(before, after)
    changed = {k for k, what in impact.items() if what != "unchanged"}
    assert {what for k, what in impact.items() if k in changed} == {"deleted"}
    assert len(changed) == 4  # an entry and its association in each of the two clusters


@pytest.mark.parametrize(
    "admins, key, says",
    [
        (ADMIN, "clusterAdmins", "must be a list"),
        ([42], "clusterAdmins[0]", "must be a string"),
        (["arn:aws:sts::111122223333:assumed-role/platform-admins/me"], "clusterAdmins[0]", "session"),
        (["arn:aws:iam::111122223333:group/admins"], "clusterAdmins[0]", "not an IAM role or user ARN"),
        (["arn:aws:iam::111122223333:role/"], "clusterAdmins[0]", "not an IAM role or user ARN"),
        ([ADMIN + "\n"], "clusterAdmins[0]", "not an IAM role or user ARN"),
        (["arn:aws:iam::111122223333:role/" + "r" * 65], "clusterAdmins[0]", "not an IAM role or user ARN"),
        (["arn:azure:iam::111122223333:role/admins"], "clusterAdmins[0]", "partition"),
        (["arn:aws:iam::11112222333:role/admins"], "clusterAdmins[0]", "12-digit"),
        (["arn:aws-cn:iam::111122223333:role/admins"], "clusterAdmins[0]", "partition aws-cn"),
        ([ADMIN, PERSON, ADMIN], "clusterAdmins[2]", "listed twice"),
    ],
)
def test_bad_cluster_admins_are_refused_with_their_key(admins, key, says):
    problems = problems_of({"clusters": [{"name": "east"}], "clusterAdmins": admins})
    assert key in problems and says in problems[key], problems


def test_admin_arns_with_paths_and_other_partitions_are_accepted():
    path_role = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123"
    assert parse({"clusters": [{"name": "east"}], "clusterAdmins": [path_role]}).access.admins == (path_role,)
    china = "arn:aws-cn:iam::111122223333:role/admins"
    assert parse({"clusters": [{"name": "east", "region": "cn-north-1"}], "clusterAdmins": [china]}).access.admins == (
        china,
    )


# --- credentials -------------------------------------------------------------------------------------


def test_kubeconfig_passes_no_profile_or_role_by_default(two_cluster_run):
    for name in ("c0", "c1"):
        args = exec_args(two_cluster_run, name)
        assert "--profile" not in args and "--role-arn" not in args
    assert not two_cluster_run.of_type(ENTRY)


def test_kubeconfig_role_is_assumed_and_made_admin():
    role = "arn:aws:iam::111122223333:role/mesh-operators"
    run = ok(mesh_config(2, kubeconfigRoleArn=role))
    for name in ("c0", "c1"):
        args = exec_args(run, name)
        assert args[args.index("--role-arn") + 1] == role
    assert sorted(e.inputs["principalArn"] for e in run.of_type(ENTRY)) == [role, role]


@pytest.mark.parametrize("role", [PERSON, "mesh-operators", "arn:aws:iam::111122223333:role/a b"])
def test_kubeconfig_role_must_be_a_role_arn(role):
    assert "kubeconfigRoleArn" in problems_of({"clusters": [{"name": "east"}], "kubeconfigRoleArn": role})


def test_stack_aws_settings_reach_every_provider_and_the_kubeconfigs():
    deployer = "arn:aws:iam::111122223333:role/deployer"
    run = ok(
        {
            **mesh_config(2),
            "aws:profile": "team",
            "aws:assumeRoles": [{"roleArn": deployer, "duration": "1h"}],
            "aws:allowedAccountIds": ["111122223333"],
            "aws:defaultTags": {"tags": {"team": "platform", "istio-eks-mesh/mesh": "not-this"}},
        }
    )
    providers = run.of_type("pulumi:providers:aws")
    assert len(providers) == 2
    for provider in providers:
        # The provider gets these as JSON: camelCase, as its schema names them.
        assert json.loads(provider.inputs["assumeRoles"]) == [{"roleArn": deployer, "duration": "1h"}]
        assert json.loads(provider.inputs["allowedAccountIds"]) == ["111122223333"]
        tags = json.loads(provider.inputs["defaultTags"])["tags"]
        assert tags == {"team": "platform", "istio-eks-mesh/mesh": "mesh1", "istio-eks-mesh/stack": "dev"}
        assert provider.inputs["profile"] == "team"
    for name in ("c0", "c1"):
        # The kubeconfigs sign as the role that created the clusters (already admin: no entry of
        # ours), from the stack's profile, passed as an argument: AWS_PROFILE would lose to an
        # ambient AWS_ACCESS_KEY_ID.
        args = exec_args(run, name)
        assert args[args.index("--role-arn") + 1] == deployer and args[args.index("--profile") + 1] == "team"
        assert "AWS_PROFILE" not in resolve(run.exports["clusters"][name]["kubeconfig"])[0]
    assert not run.of_type(ENTRY)


def test_the_creator_role_is_never_given_a_second_access_entry():
    # EKS makes the creating identity admin itself; an entry of ours for it would fail to create.
    deployer = "arn:aws:iam::111122223333:role/deployer"
    teammate = "arn:aws:iam::111122223333:role/teammate"
    config = {
        **mesh_config(2),
        "aws:assumeRoles": [{"roleArn": deployer}],
        "clusterAdmins": [deployer, teammate],
        "kubeconfigRoleArn": deployer,
    }
    run = ok(config)
    assert {e.inputs["principalArn"] for e in run.of_type(ENTRY)} == {teammate}


CI_ROLE = "arn:aws:iam::111122223333:role/deploy/ci"  # with a path, which its sessions do not show
CI_SESSION = "arn:aws:sts::111122223333:assumed-role/ci/gha-run-42"
ALICE_SESSION = "arn:aws:sts::111122223333:assumed-role/platform-admins/alice"


def admin_entries(run: Run) -> set[tuple[str, str]]:
    assert run.error is None, run.error
    return {(e.inputs["clusterName"], e.inputs["principalArn"]) for e in run.of_type(ENTRY)}


def asked_for_the_caller(run: Run) -> bool:
    return any(token == "aws:index/getCallerIdentity:getCallerIdentity" for token, _ in run.invokes)


def test_an_ambient_session_of_a_listed_role_gets_no_second_entry():
    # OIDC in CI, SSO or AWS_PROFILE: no aws:assumeRoles, the caller is a session of a listed role.
    config = mesh_config(2, clusterAdmins=[CI_ROLE, ADMIN])
    run = run_program(config, mock_factory=mocks_with(caller_arn=CI_SESSION))
    assert admin_entries(run) == {("c0-dev", ADMIN), ("c1-dev", ADMIN)}
    # Recorded as the role (what EKS made admin), for the next run to read back.
    assert resolve(run.exports["clusterCreators"])[0] == {
        "c0": "arn:aws:iam::111122223333:role/ci",
        "c1": "arn:aws:iam::111122223333:role/ci",
    }


def test_the_recorded_creator_is_kept_whoever_runs_next():
    config = mesh_config(2, clusterAdmins=[CI_ROLE, ADMIN])
    first = run_program(config, mock_factory=mocks_with(caller_arn=CI_SESSION))
    last = recorded(first)
    # A listed admin runs the next update: its own entry stays, and CI still gets none.
    second = run_program(config, mock_factory=mocks_with(caller_arn=ALICE_SESSION, last_outputs=last))
    assert admin_entries(second) == admin_entries(first)
    assert change_impact(first, second) == dict.fromkeys(change_impact(first, first), "unchanged")
    assert not asked_for_the_caller(second)
    # A cluster added now is created by the one running now.
    grown = mesh_config(3, clusterAdmins=[CI_ROLE, ADMIN])
    third = run_program(grown, mock_factory=mocks_with(caller_arn=ALICE_SESSION, last_outputs=last))
    assert admin_entries(third) == admin_entries(first) | {("c2-dev", CI_ROLE)}
    assert resolve(third.exports["clusterCreators"])[0]["c2"] == "arn:aws:iam::111122223333:role/platform-admins"


@pytest.mark.parametrize(
    ("aws_settings", "excluded"),
    [
        # Deployed through an assumed role: the rule of earlier releases, that role.
        ({"aws:assumeRoles": [{"roleArn": ADMIN}]}, ADMIN),
        # Deployed with ambient credentials: unknown, nothing left out (as before).
        ({}, None),
    ],
)
def test_a_stack_deployed_before_the_record_keeps_its_entries(aws_settings, excluded):
    config = {**mesh_config(2, clusterAdmins=[CI_ROLE, ADMIN]), **aws_settings}
    last = {"clusters": {"c0": {}, "c1": {}}}
    run = run_program(config, mock_factory=mocks_with(caller_arn=CI_SESSION, last_outputs=last))
    assert admin_entries(run) == {(c, a) for c in ("c0-dev", "c1-dev") for a in (CI_ROLE, ADMIN) if a != excluded}
    assert not asked_for_the_caller(run)
    assert resolve(run.exports["clusterCreators"])[0] == {"c0": excluded or "", "c1": excluded or ""}


def test_a_backend_that_cannot_be_read_stops_the_program_with_one_line():
    # Guessing would move ranges and entries; no other stack is read in its place.
    run = run_program(mesh_config(1), mock_factory=mocks_with(backend_unreachable=True))
    message = str(run.error)
    assert "cannot read this stack's last outputs (organization/istio-eks-mesh/dev)" in message and "503" in message
    assert "retry later" not in message and run.resources == []


def test_outputs_edited_out_of_shape_record_nothing():
    # A hand-edited state: not a map of clusters, a creator that is not a string.
    last = {"clusters": ["c0", "c1"], "clusterCreators": {"c0": 5, "c1": None}}
    run = run_program(
        mesh_config(2, clusterAdmins=[CI_ROLE, ADMIN]),
        mock_factory=mocks_with(caller_arn=CI_SESSION, last_outputs=last),
    )
    assert asked_for_the_caller(run)
    assert admin_entries(run) == {("c0-dev", ADMIN), ("c1-dev", ADMIN)}


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_the_committed_environments_deploy_from_their_ci_role(name):
    stack = yaml.safe_load((ROOT / f"Pulumi.{name}.yaml").read_text())["config"]
    config = {k.removeprefix("istio-eks-mesh:"): v for k, v in stack.items() if k.startswith("istio-eks-mesh:")}
    ci = next(a for a in config["clusterAdmins"] if a.endswith(f"/ci-{name}"))
    session = ci.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + "/run-1"
    run = run_program(config, stack=name, aws_region=stack["aws:region"], mock_factory=mocks_with(caller_arn=session))
    clusters = {c.inputs["name"] for c in run.of_type("eks:index:Cluster")}
    assert admin_entries(run) == {(c, a) for c in clusters for a in config["clusterAdmins"] if a != ci}


def test_principals_compare_as_eks_sees_them():
    role = "arn:aws:iam::111122223333:role/team/x"
    assert same_principal(role, "arn:aws:iam::111122223333:role/x")
    assert same_principal(role, "arn:aws:sts::111122223333:assumed-role/x/session")
    assert caller_principal("arn:aws:sts::111122223333:assumed-role/x/session") == "arn:aws:iam::111122223333:role/x"
    assert caller_principal(PERSON) == PERSON
    for other in (
        "arn:aws:iam::444455556666:role/x",  # another account
        "arn:aws-cn:iam::111122223333:role/x",  # another partition
        "arn:aws:iam::111122223333:user/x",  # a user of the same name
        "arn:aws:iam::111122223333:root",
        "arn:aws:sts::111122223333:federated-user/x",
        "",
    ):
        assert not same_principal(role, other), other
    assert not same_principal("", "")


def test_stack_without_aws_settings_adds_nothing_to_its_providers(two_cluster_run):
    # The inputs a stack deployed before these settings has: nothing to update.
    for provider in two_cluster_run.of_type("pulumi:providers:aws"):
        assert set(provider.inputs) == {"region", "defaultTags", "skipCredentialsValidation", "skipRegionValidation"}


def test_bad_assume_roles_fail_before_anything_is_created():
    run = cached_run({**mesh_config(2), "aws:assumeRoles": [{"role": "arn:aws:iam::111122223333:role/x"}]})
    assert run.error is not None and "aws:assumeRoles[0]" in str(run.error)
    assert run.resources == []


def test_aws_settings_parse_the_providers_forms():
    kubeconfigs = "arn:aws:iam::111122223333:role/kubectl"  # kubeconfigRoleArn: the kubeconfigs need not follow
    legacy = parse_aws_settings(
        {"assumeRole": {"roleArn": "arn:aws:iam::111122223333:role/old", "externalId": "mesh-ci"}},
        kubeconfig_role=kubeconfigs,
    )
    assert legacy.assume_roles == ({"role_arn": "arn:aws:iam::111122223333:role/old", "external_id": "mesh-ci"},)
    assert legacy.assumed_role_arn == "arn:aws:iam::111122223333:role/old"
    chain = parse_aws_settings(
        {
            "assumeRoles": [
                {"roleArn": "arn:aws:iam::111122223333:role/a"},
                {"roleArn": "arn:aws:iam::444455556666:role/b"},
            ]
        },
        kubeconfig_role=kubeconfigs,
    )
    assert chain.assumed_role_arn == "arn:aws:iam::444455556666:role/b"
    assert parse_aws_settings({}) == AwsSettings()
    # Every other setting of the AWS provider reaches every provider, typed as the provider wants it.
    others = parse_aws_settings(
        {
            "maxRetries": 5,
            "endpoints": [{"sts": "https://sts.example.com"}],
            "ignoreTags": {"keyPrefixes": ["kubernetes.io/"]},
        }
    )
    args = provider_args(others)
    assert args["max_retries"] == 5 and args["ignore_tags"].key_prefixes == ["kubernetes.io/"]
    assert [e.sts for e in args["endpoints"]] == ["https://sts.example.com"]


def test_role_arns_must_be_in_the_clusters_partition():
    with pytest.raises(pulumi.RunError) as caught:
        parse_aws_settings({"assumeRoles": [{"roleArn": "arn:aws-cn:iam::111122223333:role/x"}]}, regions=["us-east-1"])
    assert "aws:assumeRoles[0].roleArn: is in partition aws-cn, but the clusters are in aws" in str(caught.value)
    assert parse_aws_settings(
        {"assumeRoles": [{"roleArn": "arn:aws-cn:iam::111122223333:role/x"}]}, regions=["cn-north-1"]
    ).assume_roles


def test_the_kubeconfigs_read_the_shared_files_the_providers_read():
    run = cached_run(
        {
            **mesh_config(2),
            "aws:profile": "team",
            "aws:sharedConfigFiles": ["~/.aws/team-config"],
            "aws:sharedCredentialsFiles": ["/ci/credentials"],
        }
    )
    assert run.error is None, run.error
    kubeconfig, _ = resolve(run.exports["clusters"]["c0"]["kubeconfig"])
    user = KubeConfigLoader(config_dict=json.loads(kubeconfig))._user["exec"].value
    assert {e["name"]: e["value"] for e in user["env"]} == {
        "AWS_CONFIG_FILE": "~/.aws/team-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/ci/credentials",
    }
    assert all(
        json.loads(p.inputs["sharedConfigFiles"]) == ["~/.aws/team-config"] for p in run.of_type("pulumi:providers:aws")
    )
    refused = cached_run({**mesh_config(2), "aws:sharedConfigFiles": ["a", "b"]})
    assert "aws:sharedConfigFiles: must list one file" in str(refused.error)


def test_profile_names_as_config_files_spell_them_are_accepted():
    for name in ("team", "my profile", "sso-admin@111122223333", "a~b#c!"):
        assert parse_aws_settings({"profile": name}).profile == name


def test_aws_settings_stored_as_secrets_reach_the_providers_as_secrets():
    role = {"roleArn": "arn:aws:iam::111122223333:role/deployer", "externalId": "ext-1234"}
    config = {
        **mesh_config(2),
        "aws:assumeRoles": [role],
        "aws:httpsProxy": "https://u:p@proxy.example.com",
        "kubeconfigRoleArn": role["roleArn"],
    }
    run = cached_run(config, secret_keys=["aws:assumeRoles", "aws:httpsProxy"])
    assert run.error is None, run.error
    for provider in run.of_type("pulumi:providers:aws"):
        assert provider.is_secret("assumeRoles") and provider.is_secret("httpsProxy")
    plain = cached_run({**mesh_config(2), "aws:httpsProxy": "https://proxy.example.com"})
    assert not any(p.is_secret("httpsProxy") for p in plain.of_type("pulumi:providers:aws"))


ROLE_X = "arn:aws:iam::111122223333:role/x"


@pytest.mark.parametrize(
    ("roles", "key", "says"),
    [
        ([{"roleArn": ROLE_X}, {"roleArn": "arn:aws:iam::444455556666:role/y"}], "aws:assumeRoles", "chain of 2 roles"),
        ([{"roleArn": ROLE_X, "externalId": "mesh-ci"}], "aws:assumeRoles[0].externalId", "would be denied the role"),
    ],
)
def test_roles_the_kubeconfigs_cannot_assume_as_the_providers_do_are_refused(roles, key, says):
    # `aws eks get-token` takes --role-arn and the profile, nothing else: through a chain or without
    # the external ID its AssumeRole is denied, so the program could create a cluster it then
    # cannot reach.
    with pytest.raises(pulumi.RunError) as caught:
        parse_aws_settings({"assumeRoles": roles})
    line = next(line for line in str(caught.value).splitlines() if line.startswith(f"  - {key}: "))
    assert says in line and "kubeconfigRoleArn" in line and "aws:profile" in line
    # With kubeconfigRoleArn the kubeconfigs assume a role of their own, and the providers may chain.
    assert parse_aws_settings({"assumeRoles": roles}, kubeconfig_role=ROLE_X).assume_roles
    # Through the program, the key is named before anything is created.
    run = cached_run({**mesh_config(2), "aws:assumeRoles": roles})
    assert f"  - {key}: " in str(run.error) and run.resources == []


def test_session_settings_the_kubeconfigs_do_not_pass_are_accepted_with_a_warning():
    # EKS maps a session to its role whatever its name, policies or tags: the kubeconfigs work
    # unless the role's trust policy requires them, which the warning says.
    role = {
        "roleArn": ROLE_X,
        "sessionName": "ci",
        "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "tags": {"team": "mesh"},
    }
    settings = parse_aws_settings({"assumeRoles": [role]})
    [notice] = settings.notices
    assert "without sessionName, policyArns, tags" in notice and "kubeconfigRoleArn" in notice
    assert parse_aws_settings({"assumeRoles": [{"roleArn": ROLE_X, "duration": "1h"}]}).notices == ()
    run = cached_run({**mesh_config(2), "aws:assumeRoles": [role]})
    assert run.error is None and any("without sessionName" in w for w in run.warnings)


def test_a_typo_in_an_aws_setting_stops_the_program_before_anything_exists():
    run = cached_run({**mesh_config(2), "aws:profle": "team"})
    assert "aws:profle: is not a setting of the AWS provider; did you mean aws:profile?" in str(run.error)
    assert run.resources == []


@pytest.mark.parametrize(
    "values, key",
    [
        ({"assumeRoles": ["arn:aws:iam::111122223333:role/x"]}, "aws:assumeRoles[0]"),
        ({"assumeRoles": [{"roleArn": "arn:aws:iam::111122223333:role/x", "role_arn": "y"}]}, "aws:assumeRoles[0]"),
        ({"allowedAccountIds": "111122223333"}, "aws:allowedAccountIds"),
        ({"sharedConfigFiles": [1]}, "aws:sharedConfigFiles"),
        ({"defaultTags": {"tags": ["team"]}}, "aws:defaultTags"),
        ({"defaultTags": "team=platform"}, "aws:defaultTags"),
        # Keys the provider does not have, and credentials the kubeconfigs could not follow.
        ({"profle": "team"}, "aws:profle"),
        ({"defaultTag": {"tags": {"team": "x"}}}, "aws:defaultTag"),
        ({"accessKey": "AKIAEXAMPLE"}, "aws:accessKey"),
        (
            {"assumeRoleWithWebIdentity": {"roleArn": "arn:aws:iam::111122223333:role/x"}},
            "aws:assumeRoleWithWebIdentity",
        ),
        # Profiles as the kubeconfigs pass them.
        ({"profile": "deploy\n"}, "aws:profile"),
        ({"profile": ""}, "aws:profile"),
        ({"profile": ["a", "b"]}, "aws:profile"),
        ({"profile": " team"}, "aws:profile"),
        # Roles: ARNs of roles in the clusters' partition, durations as strings, one form.
        ({"assumeRoles": [{"roleArn": "deployer"}]}, "aws:assumeRoles[0].roleArn"),
        (
            {"assumeRoles": [{"roleArn": "arn:aws:sts::111122223333:assumed-role/deployer/s"}]},
            "aws:assumeRoles[0].roleArn",
        ),
        (
            {"assumeRoles": [{"roleArn": "arn:aws:iam::111122223333:role/x", "duration": 3600}]},
            "aws:assumeRoles[0].duration",
        ),
        (
            {"assumeRoles": [{"roleArn": "arn:aws:iam::111122223333:role/x", "sessionName": "a b"}]},
            "aws:assumeRoles[0].sessionName",
        ),
        (
            {
                "assumeRoles": [{"roleArn": "arn:aws:iam::111122223333:role/x"}],
                "assumeRole": {"roleArn": "arn:aws:iam::111122223333:role/y"},
            },
            "aws:assumeRole",
        ),
        ({"assumeRoles": []}, "aws:assumeRoles"),
        # Typed settings.
        ({"maxRetries": "5"}, "aws:maxRetries"),
        ({"insecure": "yes"}, "aws:insecure"),
        ({"endpoints": {"s3": "https://s3.example.com"}}, "aws:endpoints"),
        ({"endpoints": [{"s4": "https://s3.example.com"}]}, "aws:endpoints"),
        ({"stsRegion": "us-east-1\n"}, "aws:stsRegion"),
        ({"defaultTags": {"tags": {"team": ["mesh", "platform"]}}}, "aws:defaultTags.tags.team"),
        ({"defaultTags": {"tags": {"managed": True}}}, "aws:defaultTags.tags.managed"),
        ({"defaultTags": {"tags": {"owner": "mesh,platform"}}}, "aws:defaultTags.tags.owner"),
        ({"defaultTags": {"tags": {"elbv2.k8s.aws/cluster": "x"}}}, "aws:defaultTags.tags.elbv2.k8s.aws/cluster"),
        ({"defaultTags": {"tags": {" ": "x"}}}, "aws:defaultTags.tags. "),
        ({"defaultTags": {"tags": {"team\nx": "a"}}}, "aws:defaultTags.tags.team\\nx"),
        ({"defaultTags": {"tags": {"AWS:owner": "a"}}}, "aws:defaultTags.tags.AWS:owner"),
        ({"defaultTags": {"tags": {"a=b": "a"}}}, "aws:defaultTags.tags.a=b"),
        ({"defaultTags": {"tags": {"team": "x" * 257}}}, "aws:defaultTags.tags.team"),
    ],
)
def test_bad_aws_settings_are_refused_with_their_key(values, key):
    with pytest.raises(pulumi.RunError) as caught:
        parse_aws_settings(values)
    assert f"  - {key}: " in str(caught.value)


def test_a_kubernetes_downgrade_is_refused_before_anything_is_created():
    major, minor = versions.DEFAULT_KUBERNETES_VERSION.split(".")
    newer = f"{major}.{int(minor) + 1}"
    run = run_program(
        with_clusters(1, kubernetesVersion=versions.DEFAULT_KUBERNETES_VERSION),
        mock_factory=mocks_with(
            last_outputs={"clusters": {"c0": {}}, "addonVersions": {"c0": {"kubernetesVersion": newer}}}
        ),
    )
    assert f"clusters[0].kubernetesVersion: {major}.{minor} is below {newer}" in str(run.error) and run.resources == []


def test_a_kubernetes_jump_of_two_minors_is_refused_before_anything_is_created():
    major, minor = versions.DEFAULT_KUBERNETES_VERSION.split(".")
    last = {
        "clusters": {"c0": {}, "c1": {}},
        "addonVersions": {
            "c0": {"kubernetesVersion": f"{major}.{int(minor) - 2}"},
            "c1": {"kubernetesVersion": f"{major}.{int(minor) - 1}"},
        },
    }
    run = run_program(
        with_clusters(2, kubernetesVersion=versions.DEFAULT_KUBERNETES_VERSION),
        mock_factory=mocks_with(last_outputs=last),
    )
    message = str(run.error)
    assert (
        f"clusters[0].kubernetesVersion: {major}.{minor} is more than one minor version above {major}.{int(minor) - 2}"
        in message
    )
    assert f"set {major}.{int(minor) - 1}, `pulumi up`" in message and "clusters[1]" not in message
    assert run.resources == []


# --- changes a deployed cluster cannot take ------------------------------------------------------------

EAST_ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")


def as_deployed(**cluster) -> LastDeployment:
    """Cluster `east` deployed in us-east-1, 10.10.0.0/16, in EAST_ZONES."""
    return LastDeployment(
        clusters=frozenset({"east"}),
        regions={"east": "us-east-1"},
        vpc_cidrs={"east": "10.10.0.0/16"},
        zones={"east": EAST_ZONES},
    )


@pytest.mark.parametrize(
    ("change", "key", "said"),
    [
        ({"vpcCidr": "10.11.0.0/16"}, "clusters[0].vpcCidr", "set 10.10.0.0/16"),
        ({"region": "us-east-2", "availabilityZones": 3}, "clusters[0].region", "set us-east-1"),
        ({"availabilityZones": [*EAST_ZONES, "us-east-1d"]}, "clusters[0].availabilityZones", "adds us-east-1d"),
        ({"availabilityZones": list(EAST_ZONES[:2])}, "clusters[0].availabilityZones", "removes us-east-1c"),
        ({"availabilityZones": 4}, "clusters[0].availabilityZones", "4 zones, but 'east' is deployed in 3"),
        ({"availabilityZones": list(EAST_ZONES[::-1])}, "clusters[0].availabilityZones", "another order"),
    ],
)
def test_a_deployed_clusters_impossible_change_is_refused_with_its_key_and_the_recipe(change, key, said):
    cluster = {"name": "east", "vpcCidr": "10.10.0.0/16", **change}
    problems = dict(at("2026-12-07", cluster, last=as_deployed()))
    assert list(problems) == [key]
    assert said in problems[key] and "add a new cluster beside it" in problems[key]


@pytest.mark.parametrize(
    "cluster",
    [
        {"name": "east", "vpcCidr": "10.10.0.0/16"},
        {"name": "east", "availabilityZones": list(EAST_ZONES)},
        {"name": "east", "availabilityZones": 3},
        # Another cluster may have anything.
        {"name": "new", "vpcCidr": "10.11.0.0/16", "region": "us-east-2", "availabilityZones": 2},
    ],
)
def test_what_a_deployed_cluster_keeps_is_accepted(cluster):
    assert at("2026-12-07", cluster, last=as_deployed()) == []


def test_a_stack_deployed_before_the_zone_record_gets_its_zones_recorded_and_checked_from_then_on():
    before_record = LastDeployment(clusters=frozenset({"east"}), regions={"east": "us-east-1"})
    assert at("2026-12-07", {"name": "east", "availabilityZones": 4}, last=before_record) == []
    first = ok(mesh_config(2))
    zones = resolve(first.exports["clusters"]["c0"]["availabilityZones"])[0]
    assert len(zones) == 3 and all(z.startswith("us-east-1") for z in zones)
    grown = with_clusters(2, availabilityZones=4)
    run = run_program(grown, mock_factory=mocks_with(last_outputs=recorded(first)))
    assert "clusters[0].availabilityZones: 4 zones, but 'c0' is deployed in 3" in str(run.error)
    assert run.resources == []


def test_the_impact_model_replaces_a_region_move_and_refuses_eks_subnets_in_new_zones():
    before = ok(mesh_config(2))
    moved = mesh_config(2)
    moved["clusters"][1]["region"] = "us-east-2"
    impact = change_impact(before, ok(moved))
    c1 = {k for k in impact if k[1].startswith("c1-") and k[0].startswith(("aws:", "eks:"))}
    assert c1 and all(impact[k] in (REPLACED, "refused") for k in c1 if k[0] != "pulumi:providers:aws")
    assert impact["aws:ec2/vpc:Vpc", "c1-network-vpc"] == REPLACED
    grown = change_impact(before, ok(with_clusters(2, availabilityZones=4)))
    assert grown["eks:index:Cluster", "c0-eks"] == "refused"


# --- guard rails -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "on"), [("dev", False), ("dev-alice", False), ("staging", True), ("prod", True), ("devops", True)]
)
def test_deletion_protection_is_on_by_default_outside_dev(stack, on):
    spec = parse_mesh_spec({"clusters": [{"name": "east"}]}, default_region="us-east-1", stack=stack)
    assert spec.clusters[0].eks.deletion_protection is on
    off = {"name": "east", "deletionProtection": False}
    assert parse_mesh_spec({"clusters": [off]}, default_region="us-east-1", stack=stack).clusters[0].eks == replace(
        spec.clusters[0].eks, deletion_protection=False
    )


@pytest.mark.parametrize(
    ("cluster", "key"),
    [
        ({"deletionProtection": "yes"}, "clusters[0].deletionProtection"),
        ({"controlPlaneLogs": "audit"}, "clusters[0].controlPlaneLogs"),
        ({"controlPlaneLogs": ["audit", "kube"]}, "clusters[0].controlPlaneLogs[1]"),
        ({"controlPlaneLogs": ["audit", "audit"]}, "clusters[0].controlPlaneLogs[1]"),
        ({"controlPlaneLogs": [1]}, "clusters[0].controlPlaneLogs[0]"),
        ({"controlPlaneLogs": ["Audit"]}, "clusters[0].controlPlaneLogs[0]"),
    ],
)
def test_bad_guard_rail_settings_are_refused_with_their_key(cluster, key):
    assert list(problems_of({"clusters": [{"name": "east", **cluster}]})) == [key]


def test_log_types_reach_the_cluster_and_change_it_in_place():
    logged = ok(with_clusters(1, controlPlaneLogs=["audit", "authenticator"]))
    assert logged.one("eks:index:Cluster", "c0-eks").inputs["enabledClusterLogTypes"] == ["audit", "authenticator"]
    impact = change_impact(ok(mesh_config(1)), logged)
    assert {k for k, what in impact.items() if what != "unchanged"} == {("eks:index:Cluster", "c0-eks")}
    assert of_kind(impact, UPDATED) == {("eks:index:Cluster", "c0-eks")}


def test_a_cluster_under_deletion_protection_is_removed_only_after_turning_it_off():
    guarded = ok(with_clusters(2, deletionProtection=True))
    one = with_clusters(2, deletionProtection=True)
    one["clusters"] = one["clusters"][:1]
    assert change_impact(guarded, ok(one))["eks:index:Cluster", "c1-eks"] == "refused"
    # First `pulumi up` with it off (in place), then the removal goes through.
    off = with_clusters(2, deletionProtection=True)
    off["clusters"][1]["deletionProtection"] = False
    assert change_impact(guarded, ok(off))["eks:index:Cluster", "c1-eks"] == UPDATED
    assert change_impact(ok(off), ok(one))["eks:index:Cluster", "c1-eks"] == "deleted"


KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WEST_KEY = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    "value",
    [
        KEY.replace("key/", "alias/"),
        WEST_KEY,
        KEY.replace(":kms:", ":iam:"),
        KEY + "\n",
        "arn:aws:kms:us-east-1:1111:key/x",
        ["x"],
        42,
        "a" * 10_000,
    ],
)
def test_a_secrets_key_that_eks_cannot_use_is_refused_with_its_key(value):
    # The cluster takes its region from aws:region: the key must be there too.
    assert list(problems_of({"clusters": [{"name": "east", "secretsKmsKeyArn": value}]})) == [
        "clusters[0].secretsKmsKeyArn"
    ]


def test_a_secrets_key_is_added_in_place_and_kept_for_good():
    config = mesh_config(1)
    config["clusters"][0]["secretsKmsKeyArn"] = KEY
    keyed = ok(config)
    assert keyed.one("eks:index:Cluster", "c0-eks").inputs["encryptionConfigKeyArn"] == KEY
    assert resolve(keyed.exports["clusters"]["c0"]["secretsKmsKeyArn"])[0] == KEY
    added = change_impact(ok(mesh_config(1)), keyed)
    assert {k for k, what in added.items() if what != "unchanged"} == {("eks:index:Cluster", "c0-eks")}
    assert added["eks:index:Cluster", "c0-eks"] == UPDATED
    # What the provider would do with a removal (replace) or another key (no API: never completes)...
    assert change_impact(keyed, ok(mesh_config(1)))["eks:index:Cluster", "c0-eks"] == REPLACED
    other = mesh_config(1)
    other["clusters"][0]["secretsKmsKeyArn"] = KEY.replace("1234abcd-", "9999abcd-")
    assert change_impact(keyed, ok(other))["eks:index:Cluster", "c0-eks"] == "refused"
    # ...is refused up front once the stack recorded the key.
    last = LastDeployment(clusters=frozenset({"east"}), regions={"east": "us-east-1"}, kms_keys={"east": KEY})
    assert at("2026-12-07", {"name": "east", "secretsKmsKeyArn": KEY}, last=last) == []
    for changed in ({"name": "east"}, {"name": "east", "secretsKmsKeyArn": other["clusters"][0]["secretsKmsKeyArn"]}):
        problems = dict(at("2026-12-07", changed, last=last))
        assert (
            list(problems) == ["clusters[0].secretsKmsKeyArn"]
            and "for good" in problems["clusters[0].secretsKmsKeyArn"]
        )
