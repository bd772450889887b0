"""0_preprocess/llm_improve_clozes.py: prompting -> generation -> validation -> report with
the real toy-world model (a smoke test: the toy LM cannot follow instructions), and the
validation rules."""

import json
import shutil

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from motif_discovery.data.llm_rewrite import TEMPLATES, Rewriting, clean, first_line, rejection
from motif_discovery.utils.errors import InputError
from tests.preprocess.scripts import FIXTURES, REPO, run_script

MODEL = REPO / "data" / "toy_world" / "model"
SOURCE = FIXTURES / "toy_answers.jsonl"
TEMPLATE = FIXTURES / "toy_template.txt"
NEW = 12
CHAT = (  # the user turns as they are, then " ormia sells" as the cue (toy-language words)
    "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %} ormia sells{% endif %}"
)


def greedy_text(model_dir, prompt: str, chat: bool) -> str:
    """The model's greedy continuation of [BOS] + tokens(prompt, through the chat template
    when `chat`), decoded, by a plain `generate` (independent of the project's sampler)."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    if chat:
        messages = [{"role": "user", "content": prompt}]
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = [tokenizer.bos_token_id, *tokenizer(prompt, add_special_tokens=False).input_ids]
    out = model.generate(
        torch.tensor([ids]),
        do_sample=False,
        max_new_tokens=NEW,
        pad_token_id=tokenizer.eos_token_id,
    )[0, len(ids) :].tolist()
    if tokenizer.eos_token_id in out:
        out = out[: out.index(tokenizer.eos_token_id)]
    return tokenizer.decode(out)


def chat_model(tmp_path):
    """A copy of the toy model whose tokenizer has a (minimal) chat template."""
    model_dir = tmp_path / "chat_model"
    shutil.copytree(MODEL, model_dir)
    config_path = model_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["chat_template"] = CHAT
    config_path.write_text(json.dumps(config))
    return model_dir


@pytest.mark.parametrize("fmt", ["raw", "chat"])
def test_toy_model_smoke(tmp_path, one_thread, fmt):
    model_dir = MODEL if fmt == "raw" else chat_model(tmp_path)
    out = tmp_path / "rewritten.jsonl"
    args = [str(SOURCE), str(out), "--model", str(model_dir), "--format", fmt]
    args += ["--template", str(TEMPLATE), "--device", "cpu", "--backend", "hf", "--seed", "0"]
    assert run_script("llm_improve_clozes", *args, "--set", f"sampling.max_new_tokens={NEW}") == 0
    source = [json.loads(line) for line in SOURCE.read_text().splitlines()]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    report = json.loads((tmp_path / "rewritten.report.json").read_text())
    assert report["prompt_format"] == fmt
    assert len(rows) == len(source) == report["n_read"]  # no row is dropped
    assert report["n_rewritten"] + report["n_rejected"] == len(source)
    rejected = {r["line"]: r for r in report["rejected"]}
    # the row without an answer is not sent to the model, and is kept as it was
    assert rejected[3]["reason"] == "no_answer" and rejected[3]["generated"] is None
    assert rows[2] == source[2]
    # the toy LM writes toy sentences that end in '.', so its rewrites are rejected
    for line in (1, 2):
        entry = rejected[line]
        assert entry["id"] == source[line - 1]["id"] and rows[line - 1] == source[line - 1]
        assert entry["reason"] in {"ends_sentence", "states_answer", "unfinished", "empty"}
        # what the report says the model wrote is the model's own greedy continuation
        row = source[line - 1]
        answer = row["answers"][0] if "answers" in row else row["answer"]
        prompt = TEMPLATE.read_text().replace("{answer}", answer).replace("{text}", row["text"])
        expected = greedy_text(model_dir, prompt, fmt == "chat")
        assert entry["generated"].strip() == expected.strip() != ""
    assert report["rejected_by_reason"][rejected[1]["reason"]] >= 1


def test_rejection_rules():
    ok = "The capital of France is"
    assert rejection(ok, True, ["Paris"], 10) is None
    assert rejection("", True, ["Paris"], 10)[0] == "empty"
    assert rejection(ok, False, ["Paris"], 10)[0] == "unfinished"
    assert rejection("The capital, Paris, is", True, ["Paris"], 10)[0] == "states_answer"
    assert rejection(ok, True, ["Paris"], 4)[0] == "too_long"
    assert rejection("The capital of France is known.", True, ["Paris"], 10)[0] == "ends_sentence"


def test_first_line():
    assert first_line("\n\n The capital of France is\nmore", False) == (
        " The capital of France is",
        True,
    )
    assert first_line(" The capital of", False) == (" The capital of", False)
    assert first_line(" The capital of", True) == (" The capital of", True)
    assert first_line("\n  \n", True) == ("", True)
    assert first_line("", False) == ("", False)


def test_clean_and_templates():
    assert clean('  "The capital of  France is"\n') == "The capital of France is"
    assert clean("“Who wrote it”") == "Who wrote it"
    assert clean("it's") == "it's"
    for template in TEMPLATES.values():
        prompt = Rewriting(template, 60).prompt("The sky is", "blue")
        assert "The sky is" in prompt and "blue" in prompt and "{" not in prompt
    assert Rewriting("{text} {x} {answer}", 5).prompt("a", "b") == "a {x} b"
    with pytest.raises(InputError, match=r"missing the placeholder\(s\) \['\{answer\}'\]"):
        Rewriting("only {text}", 60)


def test_chat_format_without_chat_template_exits_2_before_writing(tmp_path, capsys, one_thread):
    out = tmp_path / "rewritten.jsonl"
    args = [str(SOURCE), str(out), "--model", str(MODEL), "--device", "cpu", "--backend", "hf"]
    assert run_script("llm_improve_clozes", *args) == 2  # --format chat is the default
    assert "no chat template" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "rewritten.report.json").exists()
