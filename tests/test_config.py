"""Configuration: validation messages, normalisation, serialisation, presets."""

import json

import pytest

from mixlane.config import PRESETS, Config, ConfigError, load_config, parse_overrides, preset, random_config


def test_defaults():
    cfg = Config()
    assert (cfg.width, cfg.precisions, cfg.precision_mode, cfg.acc_width, cfg.outputs) == (128, (1, 2, 4), "uniform", 32, 1)
    assert cfg.lanes == 32 and cfg.max_elements == 128 and cfg.code_bits == 2 and cfg.meta_bits == 2


@pytest.mark.parametrize("changes, field, hint", [
    ({"width": 100}, "width", "power of two"),
    ({"width": 2048}, "width", "32 to 1024"),
    ({"width": "128"}, "width", "integer"),
    ({"precisions": ()}, "precisions", "non-empty"),
    ({"precisions": (1, 3)}, "precisions", "[1, 2, 4, 8]"),
    ({"precisions": (2, 2)}, "precisions", "distinct"),
    ({"precision_mode": "lane"}, "precision_mode", "uniform"),
    ({"binary": "ternary"}, "binary", "bipolar"),
    ({"overflow": "clip"}, "overflow", "saturate"),
    ({"mac": "sum_apart_v0"}, "mac", "sum_together"),
    ({"mac": "conventional"}, "mac", "precisions = [8]"),
    ({"mac": "conventional", "precisions": (8,), "precision_mode": "pattern"}, "mac", "uniform"),
    ({"outputs": 0}, "outputs", "1 to 256"),
    ({"acc_width": 10}, "acc_width", "acc_width >= 13"),
    ({"acc_width": 65}, "acc_width", "8 to 64"),
    ({"activation_signed": 1}, "activation_signed", "true or false"),
    ({"precision_mode": "pattern", "patterns": (((4, 31),),)}, "patterns[0]", "sum to width 128"),
    ({"precision_mode": "pattern", "patterns": (((8, 16),),)}, "patterns[0]", "not in precisions"),
    ({"precision_mode": "pattern", "patterns": (((2, 1), (4, 63), (2, 1)),)}, "patterns[0]", "whole 4-bit lanes"),
    ({"precision_mode": "pattern", "patterns": tuple(((p, 128 // p),) for p in (1, 2, 4)) * 2}, "patterns", "1 to 4"),
    ({"precision_mode": "pattern", "patterns": (((4, 32),), ((4, 32),))}, "patterns", "distinct"),
    ({"patterns": (((4, 32),),)}, "patterns", "only used with precision_mode = 'pattern'"),
    ({"precision_mode": "channel", "channel_levels": (1, 2, 4, 8)}, "channel_levels", "1 to 3"),
    ({"precision_mode": "channel", "channel_levels": (8,)}, "channel_levels", "must be in precisions"),
    ({"channel_levels": (1, 2)}, "channel_levels", "only used with precision_mode = 'channel'"),
])
def test_rejected_with_one_line(changes, field, hint):
    with pytest.raises(ConfigError) as info:
        Config(**changes)
    msg = str(info.value)
    assert msg.startswith(f"{field}:") and hint in msg and "\n" not in msg


def test_normalisation_and_defaults_per_mode():
    cfg = Config(precisions=[4, 1, 2], precision_mode="pattern")
    assert cfg.precisions == (1, 2, 4)
    assert cfg.patterns == (((4, 32),), ((2, 64),), ((1, 128),), ((4, 16), (2, 32)))
    assert Config(precision_mode="channel").channel_levels == (1, 2, 4)
    assert Config(precision_mode="channel", precisions=(2, 8)).meta_bits == 2 * 16


def test_acc_width_bound_follows_mode():
    # 4-bit elements dominate: 32 x (15 * 8) = 3840 -> 13 signed bits; a 1-bit-only pattern needs fewer
    assert Config().register_sum_width == 13
    cfg = Config(precision_mode="pattern", patterns=(((1, 128),),), acc_width=9)
    assert cfg.register_sum_width == 9


def test_hash_replace_and_json_round_trip(tmp_path):
    cfg = preset("pattern-sysmol")
    assert cfg.content_hash == Config.from_dict(json.loads(cfg.to_json())).content_hash
    assert len(cfg.content_hash) == 16
    wide = cfg.replace(width=256, patterns=())
    assert wide.width == 256 and wide.patterns[0] == ((4, 64),)
    assert wide.content_hash != cfg.content_hash
    assert cfg.replace(precision_mode="uniform").patterns == ()
    with pytest.raises(ConfigError, match="^widht: unknown configuration key"):
        cfg.replace(widht=64)
    path = tmp_path / "c.json"
    path.write_text(cfg.to_json())
    assert load_config(path) == cfg


def test_toml(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('width = 64\nprecisions = [2, 4]\nprecision_mode = "pattern"\n'
                    'patterns = [[[4, 16]], [[2, 16], [4, 8]]]\n')
    cfg = load_config(path)
    assert cfg.patterns == (((4, 16),), ((2, 16), (4, 8)))
    path.write_text("width = \n")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(path)
    with pytest.raises(ConfigError, match="unknown suffix"):
        load_config(tmp_path.joinpath("c.yaml").write_text("") or tmp_path / "c.yaml")


def test_overrides():
    assert parse_overrides(["width=256", "precisions=[2,4]", "binary=unipolar", "weight_signed=false"]) == {
        "width": 256, "precisions": [2, 4], "binary": "unipolar", "weight_signed": False}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_overrides(["width"])


def test_presets_valid_and_distinct():
    hashes = {cfg.content_hash for _, cfg in PRESETS.values()}
    assert len(hashes) == len(PRESETS)
    assert preset("default") == Config()


@pytest.mark.parametrize("seed", range(40))
def test_random_configs_valid_and_deterministic(seed):
    cfg = random_config(seed)
    assert cfg == random_config(seed)
    assert cfg.acc_width >= cfg.register_sum_width
