"""Layering: the core (``bench``) never names ``reference_models``; the reference GANs plug in through entry points
like any third party, and the core works without them."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "reference_models"
GROUPS = ("bench.methods", "bench.weights", "bench.commands")


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _names_the_plugin(text: str) -> bool:
    return text == PLUGIN or text.startswith((PLUGIN + ".", PLUGIN + ":"))


def test_the_core_never_imports_reference_models_by_name():
    """No import statement, and no module string outside docstrings (``import_module``, ``"module:attr"``, a list of
    modules to import), names the plugin anywhere in bench/."""
    offences = []
    for path in sorted((ROOT / "bench").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                names = [node.value]
            offences += [f"{path.relative_to(ROOT)}:{node.lineno}: {n!r}" for n in names if _names_the_plugin(n)]
    assert not offences, offences


def _declared() -> dict[str, dict[str, str]]:
    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    return {g: dict(eps.get(g, {})) for g in GROUPS}


def test_pyproject_declares_the_reference_models_as_plugins():
    from bench.adapter import METHODS, Generator
    from bench.registry import import_string
    from bench.weights import WeightFile

    declared = _declared()
    assert set(declared["bench.methods"]) == {"pix2pix", "pix2pixhd", "spade", "cgan", "acgan", "sngan-proj",
                                              "context-encoder", "srresnet", "srgan", "esrgan", "oasis",
                                              "pix2pix-seg-clip", "ecgan", "cyclegan", "munit", "unit", "dsgan",
                                              "stargan", "gan-int-cls", "stackgan"}
    for name, spec in declared["bench.methods"].items():
        cls = import_string(spec)
        assert isinstance(cls, type) and issubclass(cls, Generator) and METHODS.get(name) is cls
    files = [wf for spec in declared["bench.weights"].values() for wf in import_string(spec)]
    assert {wf.name for wf in files} == {"torchvision-vgg19", "pix2pix-facades-label2photo",
                                         "esrgan-rrdb-esrgan-x4", "esrgan-rrdb-psnr-x4", "basicsr-esrgan-x4",
                                         "basicsr-esrgan-psnr-x4"}
    assert all(isinstance(wf, WeightFile) for wf in files)
    assert set(declared["bench.commands"]) == {"train"} and callable(import_string(declared["bench.commands"]["train"]))
    for group in GROUPS:  # each plugin is the plugin package's, none a core module
        assert all(spec.startswith(PLUGIN + ".") for spec in declared[group].values()), group


def test_the_installed_entry_points_are_the_declared_ones():
    from bench.registry import plugin_entry_points

    for group, declared in _declared().items():
        installed = {n: v for n, v in plugin_entry_points(group) if v.startswith(PLUGIN + ".")}
        assert installed == declared, (
            f"the installed metadata of group {group} is stale (entry points are read from it, not from "
            f"pyproject.toml): run `pip install -e {ROOT} --no-deps` in this environment")


def test_every_registered_plugin_weight_file_is_listed():
    from bench import weights

    known = weights.all_registered()
    for name in ("torchvision-vgg19", "pix2pix-facades-label2photo"):
        assert name in known


# The plugin "not installed": no entry point of it, and importing it fails.
WITHOUT_PLUGIN = textwrap.dedent(f"""
    import importlib.abc, json, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == {PLUGIN!r} or name.startswith({PLUGIN!r} + "."):
                raise ImportError("blocked: " + name)

    sys.meta_path.insert(0, Block())
    import bench.registry as registry
    real = registry.plugin_entry_points
    registry.plugin_entry_points = lambda group: [(n, v) for n, v in real(group) if not v.startswith({PLUGIN!r})]
    from bench.cli import main

    codes = []
    for argv in json.loads(sys.argv[1]):
        try:
            codes.append(main(argv))
        except SystemExit as exc:  # --help
            codes.append(exc.code)
    print("CODES", json.dumps(codes), "LOADED", any(m.split(".")[0] == {PLUGIN!r} for m in sys.modules))
""")


def test_the_core_works_without_reference_models(folders, tmp_path):
    real, fake = folders
    argvs = [["ls"], ["--help"],
             ["eval", "--real", str(real), "--fake", str(fake), "--metrics", "psnr,ssim", "--out", str(tmp_path / "e.json")],
             ["run", "--method", "spade"], ["weights", "torchvision-vgg19"], ["train", "--method", "spade"]]
    proc = subprocess.run([sys.executable, "-c", WITHOUT_PLUGIN, json.dumps(argvs)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    out, err = proc.stdout, proc.stderr
    assert proc.returncode == 0, err
    codes = json.loads(out.split("CODES ")[1].split(" LOADED")[0])
    assert codes == [0, 0, 0, 2, 2, 2], (codes, err)
    assert out.strip().endswith("LOADED False"), out
    lines = out.splitlines()
    assert ("methods: bicubic (super-resolution), blur-fill (inpainting), caption-nearest (text), class-mean (class), "
            "identity (paired/unpaired/attribute), "
            "label-colouring (semantic), mean-fill (inpainting), oracle (*), training-copy (class)") in lines
    from bench.cli import COMMANDS

    usage = re.search(r"\{([a-z,-]+)\}", out)
    assert usage and set(usage.group(1).split(",")) == set(COMMANDS), out  # the core's commands only: no train
    assert not any("torchvision-vgg19" in line for line in lines)
    assert "unknown method 'spade'" in err and "unknown weight file 'torchvision-vgg19'" in err
    assert "invalid choice: 'train'" in err
    assert json.loads((tmp_path / "e.json").read_text())["metrics"]["psnr"] > 0


def test_a_plugin_command_that_cannot_load_costs_only_itself(monkeypatch, capsys):
    import bench.cli as cli
    import bench.registry as registry

    monkeypatch.setattr(registry, "plugin_entry_points", lambda group: {
        "bench.commands": [("broken", "no_such_module_xyz:register"), ("ls", "bench.cli:cmd_ls")]}.get(group, []))
    assert cli.main(["ls"]) == 0
    err = capsys.readouterr().err
    assert "plugin command 'broken'" in err and "cannot import module 'no_such_module_xyz'" in err
    assert "plugin command 'ls'" in err and "redefine the core command 'bench ls'" in err


REG = None  # the registry the plugin module below registers into


def test_a_lazy_entry_is_replaced_by_the_class_its_module_registers(tmp_path, monkeypatch):
    from bench.registry import Registry

    global REG
    REG = Registry("thing")
    (tmp_path / "lazy_plugin_for_layering.py").write_text(
        "import test_layering\n\n@test_layering.REG.register('thing')\nclass Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    REG.register("thing", "lazy_plugin_for_layering:Thing")  # as an entry point registers it
    cls = REG.get("thing")  # importing the module registers the class itself under the same name
    assert cls.__name__ == "Thing" and REG.get("thing") is cls
    with pytest.raises(ValueError, match="already registered"):
        REG.register("thing", object())
