"""The command line: fast help, one-line errors, the JSON record."""

import json
import subprocess
import sys

import pytest

from bench.cli import main


def test_importing_the_cli_does_not_import_torch():
    code = "import sys, bench.cli; print('torch' in sys.modules, 'lpips' in sys.modules, 'cleanfid' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False False"


@pytest.mark.parametrize("argv, needle", [
    (["eval", "--real", "a", "--fake", "b", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["evaluate"], "invalid choice: 'evaluate'"),
    (["eval", "--real", "a"], "the following arguments are required: --fake"),
])
def test_bad_command_lines_give_one_line(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_unknown_metric_suggests_the_closest(capsys, folders, tmp_path):
    real, fake = folders
    assert main(["eval", "--real", str(real), "--fake", str(fake), "--metrics", "fdi", "--out", str(tmp_path / "x.json")]) == 2
    assert "unknown metric 'fdi'; did you mean 'fid'?" in capsys.readouterr().err


def test_eval_writes_a_record_with_protocol_and_provenance(capsys, folders, tmp_path):
    real, fake = folders
    out = tmp_path / "r.json"
    assert main(["eval", "--real", str(real), "--fake", str(fake), "--metrics", "fid,kid,psnr,ssim",
                 "--kid-subset-size", "6", "--kid-subsets", "10", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    rec = json.loads(out.read_text())
    assert set(rec["metrics"]) >= {"fid", "kid", "kid_std", "psnr", "ssim"}
    assert rec["fingerprint"] in printed and "fid" in printed
    p = rec["protocol"]
    assert (p["fid_resize"], p["kid_subset_size"], p["kid_subsets"]) == ("clean", 6, 10)
    assert p["feature_extractor_sha256"] == rec["weights"]["inception-v3-2015-12-05-fid"]["sha256"]
    assert rec["inputs"]["real"]["n"] == 12 and len(rec["inputs"]["fake"]["content_sha256"]) == 64
    assert rec["versions"]["torch"].startswith("2.14")


def test_fingerprint_changes_with_any_protocol_field():
    from bench.protocol import Protocol

    base = Protocol()
    assert base.fingerprint == Protocol().fingerprint and len(base.fingerprint) == 12
    assert Protocol(kid_seed=1).fingerprint != base.fingerprint
    assert Protocol(fid_resize="legacy_pytorch").fingerprint != base.fingerprint
