"""Config: defaults documented, extends, overrides, and clear errors before any work."""

import json
from dataclasses import fields, is_dataclass

import pytest

from motif_discovery.utils.config import DEFAULT_CONFIG, Config, load_config, to_dict
from motif_discovery.utils.errors import InputError


def write(tmp_path, name, tree):
    path = tmp_path / name
    path.write_text(json.dumps(tree))
    return path


def test_default_config_documents_every_key():
    tree = json.loads(DEFAULT_CONFIG.read_text())

    import typing

    def walk(cls, node, key):
        types = typing.get_type_hints(cls)
        for f in fields(cls):
            assert f.name in node, f"{key}{f.name} missing from default_config.json"
            assert f"_{f.name}" in node, f"{key}{f.name} undocumented"
            if isinstance(node[f.name], dict):
                assert is_dataclass(types[f.name]), f"{key}{f.name} is not a section"
                walk(types[f.name], node[f.name], f"{key}{f.name}.")

    hints = typing.get_type_hints(Config)
    for f in fields(Config):
        walk(hints[f.name], tree[f.name], f"{f.name}.")


def test_paper_defaults():
    config = load_config()
    assert config.clustering.beta == [0.5, 0.75, 1.0, 1.25]
    assert config.clustering.gamma == [0.1, 0.3, 0.5, 0.7, 0.9]
    assert config.clustering.K_max == 50 and config.clustering.K_clamp == 10
    assert config.clustering.distortion_scale == "sum"
    assert config.clustering.tol == 1e-3 and config.clustering.max_iter == 50


def test_extends_chain_and_override(tmp_path):
    write(tmp_path, "base.json", {"clustering": {"K_max": 7}})
    child = write(tmp_path, "child.json", {"extends": "base.json", "clustering": {"beta": 2}})
    config = load_config(child, ["clustering.gamma=0.25", "run.dtype=float64"])
    assert config.clustering.K_max == 7
    assert config.clustering.beta == 2.0 and isinstance(config.clustering.beta, float)
    assert config.clustering.gamma == 0.25
    assert config.run.dtype == "float64"
    assert to_dict(config)["clustering"]["K_max"] == 7


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("clustering.gama=0.5", "clustering.gama: unknown key; did you mean clustering.gamma?"),
        ("clustering.beta=0", "clustering.beta: 0.0 must be > 0"),
        ("clustering.beta=-1", "must be > 0"),
        ("clustering.gamma=1.5", "clustering.gamma: 1.5 must be in [0, 1]"),
        ("clustering.gamma=[0.1,-0.2]", "clustering.gamma: -0.2 must be in [0, 1]"),
        ("clustering.K_max=0", "clustering.K_max: 0 must be >= 1"),
        ("clustering.beta=[]", "clustering.beta: the list is empty"),
        ("clustering.K_max=2.5", "clustering.K_max"),
        ("clustering.warm_start=1", "expected true/false"),
        ("clustering.distortion_scale=mean", "not one of ['sum', 'per_dim']"),
        ('sampling.stop=[".", ""]', "sampling.stop: '' must be a non-empty string"),
        ("sampling.top_p=0", "sampling.top_p: 0.0 must be in (0, 1]"),
        ('attribution.pooling="median"', "not one of ['surprisal', 'mean', 'sum', 'max']"),
        ("run.device=tpu", "run.device"),
        ("clustering", "expected KEY=VALUE"),
        ("clustering.beta.x=1", "clustering.beta"),
        ("validation.epsilons=[0.5,0.5]", "validation.epsilons: needs at least two distinct"),
        ("validation.epsilons=[-1.0]", "validation.epsilons: needs at least two distinct values"),
    ],
)
def test_bad_values_name_the_key(override, message):
    with pytest.raises(InputError) as err:
        load_config(None, [override])
    assert message in str(err.value)


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="config file not found"):
        load_config(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"clustering": {"beta": }')
    with pytest.raises(InputError, match=r"broken.json: invalid JSON at line 1"):
        load_config(broken)
    a = write(tmp_path, "a.json", {"extends": "b.json"})
    write(tmp_path, "b.json", {"extends": "a.json"})
    with pytest.raises(InputError, match="'extends' cycle"):
        load_config(a)
    top = write(tmp_path, "top.json", {"steering": {"n": 3}})
    with pytest.raises(InputError, match="steering: unknown key"):
        load_config(top)
    doc = write(tmp_path, "doc.json", {"clustering": {"_nothing": "x"}})
    with pytest.raises(InputError, match=r"clustering\._nothing: documents no key"):
        load_config(doc)


def test_shipped_configs_validate():
    for path in DEFAULT_CONFIG.parent.glob("*.json"):
        load_config(path)
