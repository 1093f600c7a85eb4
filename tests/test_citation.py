"""visreps is citable: CITATION.cff is valid CFF 1.2 naming both studies, the README says how to cite, and the
package metadata holds no placeholder addresses."""
import configparser
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_citation_file_names_the_software_and_both_studies():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["title"].startswith("visreps") and cff["authors"]
    titles = " ".join(r["title"] for r in cff["references"])
    assert "VisReps" in titles and "latent dimensionality" in titles
    assert all(r.get("authors") and r.get("year") for r in cff["references"])
    ini = configparser.ConfigParser(delimiters=["="])
    ini.read(ROOT / "settings.ini")
    assert cff["version"] == ini["DEFAULT"]["version"], "CITATION.cff and settings.ini disagree on the version"


def test_readme_says_how_to_cite():
    readme = (ROOT / "README.md").read_text()
    assert "## How to cite" in readme and "CITATION.cff" in readme and "10.1371/journal.pcbi.1011792" in readme


def test_no_placeholder_addresses():
    text = (ROOT / "settings.ini").read_text() + (ROOT / "setup.py").read_text() + (ROOT / "CITATION.cff").read_text()
    assert not re.search(r"example\.(org|com)|@example|your[-_ ]?name|TODO", text, re.I)
