"""`train --small` rebuilds a reduced world that the model learns (checked against the generator)."""

import math

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
    # a content word chosen at random is a recall word of the stored meaning with
    # probability 3/34; memorising the facts of 6 countries lifts it near 1
    assert recall_accuracy(model, tokenizer, world) >= 0.75
    loss = heldout_loss(model, tokenizer, world, n_docs=300, seed=11)
    # a uniform guess over the vocabulary costs log(len(tokenizer)) ~ 4.4 nats per token
    assert loss["token_nll"] < 0.3 * math.log(len(tokenizer))
    # within 1.5 nats per episode of the generator's entropy (the floor, ~6 nats)
    floor = loss["generator_answer_entropy_per_episode"]
    assert loss["answer_nll_per_episode"] < floor + 1.5
    assert read_json(tmp_path / "train_log.json")["steps"] == train.SMALL_STEPS
    for row in read_jsonl(tmp_path / "clozes.jsonl"):
        planted = {f.name: f.prob for f in families(parse_prefix(row["text"]), world)}
        assert {k: v["prob"] for k, v in row["families"].items()} == {
            k: round(v, 6) for k, v in planted.items()
        }
