"""Packaging for visreps: metadata and requirements come from settings.ini (nbdev 2)."""
import shutil
from configparser import ConfigParser
from pathlib import Path

import setuptools
from setuptools.command.build_py import build_py

here = Path(__file__).parent
config = ConfigParser(delimiters=["="])
config.read(here / "settings.ini", encoding="utf-8")
cfg = config["DEFAULT"]

requirements = cfg.get("requirements", "").split()
dev_requirements = cfg.get("dev_requirements", "").split()
scripts = [s.strip() for s in cfg.get("console_scripts", "").split(";") if s.strip()]
readme = here / "README.md"

# Files the package reads that are not Python modules: copied into the wheel as visreps/_shipped/ at build time
# (nothing is copied into the source tree); `visreps.core.storage.shipped` finds them. Keep in step with its SHIPPED.
SHIPPED = ("experiments", "plans", "banks", "book", "data/reference")
NOT_SHIPPED = {"book": ("_build", "generated", "api")}  # made by the book builder, not sources


def _skip(path: Path) -> bool:
    return path.name.startswith(".") or path.name == "__pycache__" or path.suffix in (".tmp", ".pyc")


class build_py_shipped(build_py):
    "build_py, then the SHIPPED folders into visreps/_shipped (hidden files, caches, the book's built pages left out)."

    def run(self):
        super().run()
        dest = Path(self.build_lib) / cfg["lib_path"] / "_shipped"
        shutil.rmtree(dest, ignore_errors=True)  # no stale copy of a file since removed from the sources
        for folder in SHIPPED:
            src = here / folder
            if not src.is_dir():
                raise FileNotFoundError(f"setup.py: the shipped folder {str(src)!r} is missing (expected {SHIPPED})")
            skip = {src / n for n in NOT_SHIPPED.get(folder, ())}
            for f in sorted(src.rglob("*")):
                rel = f.relative_to(src)
                if not f.is_file() or any(_skip(Path(*rel.parts[: i + 1])) for i in range(len(rel.parts))) \
                        or any(s == f or s in f.parents for s in skip):
                    continue
                out = dest / folder / rel
                self.mkpath(str(out.parent))
                self.copy_file(str(f), str(out))


setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=readme.read_text(encoding="utf-8") if readme.exists() else "",
    long_description_content_type="text/markdown",
    author=cfg["author"],
    license="MIT",
    classifiers=[
        "Development Status :: 3 - Alpha",
        "Intended Audience :: Science/Research",
        "License :: OSI Approved :: MIT License",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Bio-Informatics",
    ],
    keywords=cfg.get("keywords", "").split(),
    platforms=["any"],
    packages=setuptools.find_packages(include=["visreps", "visreps.*"]),
    include_package_data=True,
    python_requires=">=" + cfg["min_python"],
    install_requires=requirements,
    extras_require={"dev": dev_requirements},
    entry_points={"console_scripts": scripts, "nbdev": [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False,
    cmdclass={"build_py": build_py_shipped},
)
