"""The docs hold together: every page and section a message or a page points at exists."""

from __future__ import annotations

import re
from pathlib import Path

from tests.harness import ROOT

_DOC_LINK = re.compile(r"\b(docs/[\w/-]+\.md)(?:#([\w-]+))?")
_MD_LINK = re.compile(r"\]\(([^)#\s]+\.md)?(?:#([\w-]+))?\)")
_SEE = re.compile(r"\(see ([A-Z][^()]{2,60}?)\)")


def pages() -> list[Path]:
    return [ROOT / "README.md", ROOT / "UPGRADING.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]


def sources() -> list[Path]:
    return [p for d in ("components", "check", "verify", "scripts") for p in (ROOT / d).rglob("*.py")]


def test_every_docs_path_a_message_or_page_names_exists_with_its_section():
    broken = []
    for path in [*sources(), *pages()]:
        if not path.is_file():
            continue
        text = path.read_text()
        links = [(m[1], m[2]) for m in _DOC_LINK.finditer(text)]
        if path.suffix == ".md":
            links += [
                (str((path.parent / (m[1] or path.name)).resolve().relative_to(ROOT)), m[2])
                for m in _MD_LINK.finditer(text)
                if not (m[1] or "").startswith("http")
            ]
        for page, section in links:
            target = ROOT / page
            if not target.is_file():
                broken.append(f"{path.relative_to(ROOT)}: {page} does not exist")
            elif section and section not in {anchor(h) for h in headings(target)}:
                broken.append(f"{path.relative_to(ROOT)}: {page} has no section #{section}")
    assert broken == []


def test_every_section_named_with_see_is_a_heading_of_the_docs():
    titles = {anchor(h) for page in pages() if page.is_file() for h in headings(page)}
    missing = sorted(
        f"{path.relative_to(ROOT)}: (see {m[1]})"
        for path in [*sources(), *pages()]
        if path.is_file()
        for m in _SEE.finditer(path.read_text())
        if anchor(" ".join(m[1].split(":")[-1].replace("`", "").split())) not in titles and "/" not in m[1]
    )
    assert missing == []


def test_the_readme_is_short_and_names_the_test_command():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert "./scripts/test.sh" in readme and "./scripts/test.sh" in (ROOT / ".ci/run").read_text()


def _mesh(count: int, model: str, instance_type: str) -> dict:
    clusters = []
    for i in range(count):
        cluster = {"name": f"c{i}", "region": ("us-east-1", "us-west-2")[i % 2]}
        cluster["nodeGroup"] = {"instanceTypes": [instance_type]}
        if model.startswith("primary-remote") and i:
            cluster.update(role="remote", primary="c0")
        if model.endswith("one network"):
            cluster.update(network="n1", vpcCidr=f"10.{i}.0.0/16")
        clusters.append(cluster)
    # The account's quotas raised, as the docs say such a mesh needs (serviceQuotas).
    raised = dict.fromkeys(
        ("vpcsPerRegion", "internetGatewaysPerRegion", "natGatewaysPerAz", "elasticIpsPerRegion"), 100
    )
    return {"clusters": clusters, "apiAccessCidrs": ["203.0.113.10/32"], "serviceQuotas": raised}


def test_the_mesh_sizes_the_docs_state_are_the_largest_the_config_check_accepts():
    import datetime

    from components.config.parse import parse_mesh_spec
    from components.config.validate import ConfigError

    section = (ROOT / "docs/concepts/models.md").read_text().split("## Mesh size", 1)[1]
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| multi-primary") or line.startswith("| primary-remote")
    ][:4]
    assert len(rows) == 4
    now = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)
    for model, default_nodes, larger_nodes, _ in rows:
        for stated, instance_type in ((default_nodes, "m6i.large"), (larger_nodes, "m6i.xlarge")):
            size = int(stated.split()[0])
            parse_mesh_spec(_mesh(size, model, instance_type), default_region="us-east-1", stack="dev", now=now)
            try:
                parse_mesh_spec(_mesh(size + 1, model, instance_type), default_region="us-east-1", stack="dev", now=now)
            except ConfigError:
                continue
            raise AssertionError(f"{model} on {instance_type}: {size + 1} clusters pass too")
