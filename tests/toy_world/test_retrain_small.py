"""`train --small` rebuilds a reduced world that the model learns (checked against the generator)."""

import torch

from motif_discovery.toy_world import train
from motif_discovery.toy_world.evaluate import heldout_loss, recall_accuracy
from motif_discovery.toy_world.grammar import families, load_world, parse_prefix
from motif_discovery.toy_world.lm import load_toy_model
from motif_discovery.utils.io import read_json, read_jsonl


def test_retrain_small(tmp_path):
    torch.set_num_threads(1)
    train.main(["--small", "--seed", "3", "--out", str(tmp_path), "--skip-transcoders"])
    model, tokenizer = load_toy_model(tmp_path / "model")
    world = load_world(tmp_path / "world.json")
    assert world.small and world.seed == 3
    assert (tmp_path / "model" / "READY").is_file()
    # chance for a stored fact is 1 / (number of capitals or rivers) <= 1/6
    assert recall_accuracy(model, tokenizer, world) >= 0.75
    loss = heldout_loss(model, tokenizer, world, n_docs=200, seed=11)
    # a uniform guess over the vocabulary costs log(len(tokenizer)) ~ 4.8 nats per token
    assert loss["token_nll"] < 1.5
    assert read_json(tmp_path / "train_log.json")["steps"] == train.SMALL_STEPS
    for row in read_jsonl(tmp_path / "clozes.jsonl"):
        planted = {f.name: f.prob for f in families(parse_prefix(row["text"]), world)}
        assert {k: v["prob"] for k, v in row["families"].items()} == {
            k: round(v, 6) for k, v in planted.items()
        }
