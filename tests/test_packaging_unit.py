"""What a packager reads: META.json by the PGXN meta spec 1.0.0, the licence, the changelog, and
versions that agree with each other (no server needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
META = json.loads((REPO / "META.json").read_text())
VERSION = re.search(r'^__version__ = "(.*)"', (REPO / "python/dblink_py/__init__.py").read_text(), re.M).group(1)

# PGXN meta spec 1.0.0 (https://pgxn.org/meta/spec.txt), as far as META.json uses it
SEMVER = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
VERSION_RANGE = re.compile(rf"^(((==|!=|<=?|>=?)\s*)?({SEMVER}|0))(,\s*((==|!=|<=?|>=?)\s*)?{SEMVER})*$")
TERM = re.compile(r"^[^/\\\s\x00-\x1f\x7f]{2,}$")
LICENSES = {"agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd", "freebsd", "gfdl_1_2",
            "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0", "mit", "mozilla_1_0", "mozilla_1_1",
            "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay", "sun", "zlib", "open_source", "restricted",
            "unrestricted", "unknown"}
KEYS = {"name", "version", "abstract", "maintainer", "license", "provides", "meta-spec", "description",
        "generated_by", "tags", "no_index", "prereqs", "release_status", "resources"}
PHASES = {"configure", "build", "test", "runtime", "develop"}
RELATIONS = {"requires", "recommends", "suggests", "conflicts"}


def _custom(key: str) -> bool:
    return bool(re.match(r"^[xX]_.", key))


def test_meta_json_has_the_mandatory_fields_and_no_unknown_ones():
    assert {"name", "version", "abstract", "maintainer", "license", "provides", "meta-spec"} <= META.keys()
    assert [k for k in META if k not in KEYS and not _custom(k)] == []
    assert META["meta-spec"]["version"] == "1.0.0"


def test_meta_json_names_versions_and_licence_are_well_formed():
    assert TERM.match(META["name"])
    assert re.fullmatch(SEMVER, META["version"])
    assert META["license"] in LICENSES
    assert META["release_status"] in {"stable", "testing", "unstable"}
    assert all(2 <= len(tag) < 256 and not re.search(r"[/\\\x00-\x1f]", tag) for tag in META["tags"])


def test_meta_json_provides_the_extension_at_this_version():
    assert list(META["provides"]) == ["dblink_py"]
    extension = META["provides"]["dblink_py"]
    assert {"file", "version"} <= extension.keys() <= {"file", "version", "abstract", "docfile"}
    assert extension["version"] == META["version"] == VERSION
    assert (REPO / extension["file"]).is_file() and (REPO / extension["docfile"]).is_file()


def test_meta_json_prerequisites_are_well_formed():
    for phase, relations in META["prereqs"].items():
        assert phase in PHASES
        for relation, prerequisites in relations.items():
            assert relation in RELATIONS
            for name, version in prerequisites.items():
                assert TERM.match(name), name
                assert version == 0 or VERSION_RANGE.match(version), (name, version)


def test_meta_json_prerequisites_are_what_the_build_needs():
    runtime = META["prereqs"]["runtime"]["requires"]
    assert runtime["PostgreSQL"] == "15.0.0"  # the Makefile refuses older servers
    control = (REPO / "dblink_py.control").read_text()
    assert re.search(r"^requires = '(.*)'", control, re.M).group(1) in runtime
    pins = dict(re.findall(r"^([\w-]+)==(\S+)$", (REPO / "server-requirements.txt").read_text(), re.M))
    assert {name: f"== {version}" for name, version in pins.items()} == \
        {name: v for name, v in runtime.items() if name in pins}
    assert pins


def test_the_licence_is_the_postgresql_licence_everywhere():
    assert (REPO / "LICENSE").read_text().startswith("PostgreSQL License")
    assert 'license = {text = "PostgreSQL"}' in (REPO / "pyproject.toml").read_text()
    assert "PostgreSQL License" in (REPO / "README.md").read_text()


def test_the_changelog_has_an_entry_for_this_version():
    assert re.search(rf"^## {re.escape(VERSION)}\b", (REPO / "CHANGELOG.md").read_text(), re.M)
