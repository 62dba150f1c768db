"""Package list for setuptools: every generator package, plus the templates folder as generator.templates.

Everything else about the build is in pyproject.toml. find_packages keeps new
packages in the wheel without a list to maintain; the templates have no
__init__.py and live outside generator/, so they are named here.
"""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["generator", "generator.*"]) + ["generator.templates"])
