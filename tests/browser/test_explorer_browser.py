"""The HTML explorer in a real browser (headless Chromium) on a toy-world run.

The run is the session's small toy-world pipeline run (stages 1-8, fixture
toy_world_run), or the run named by MOTIF_TOY_RUN (only read); each test works on a copy.
With MOTIF_SAVE_SCREENSHOTS=1 the screenshots are also copied to docs/images/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from motif_discovery.clustering.outputs import grid_configs, load_beta_paths
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.embedding.features import load_features
from motif_discovery.utils.io import read_json, read_jsonl, write_json, write_jsonl
from tests.toy_run import ENV, SMALL

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "toy_world.json"
DOCS_IMAGES = REPO / "docs" / "images"
GRID_BETAS = "[1.0,2.0]"
HOSTILE = ("<script>window.__pwned=1</script>", '<img src=x onerror="window.__pwned=2">')
HOSTILE_PREFIX = "</script><script>window.__pwned=3</script>"
PLOT = ".js-plotly-plot .main-svg"
WAIT_S = 120  # page load and Plotly drawing on a loaded 2-core machine


@pytest.fixture(scope="module")
def source_run(request) -> Path:
    """The toy-world run the tests copy."""
    if os.environ.get("MOTIF_TOY_RUN"):
        return Path(os.environ["MOTIF_TOY_RUN"])
    run_dir, _ = request.getfixturevalue("toy_world_run")
    return run_dir


def run_script(script: str, run_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    """One stage script on `run_dir` with the toy world's config (and the small run's
    clustering keys)."""
    sets = [arg for item in SMALL if item.startswith("clustering.") for arg in ("--set", item)]
    command = [sys.executable, str(REPO / script), "--config", str(CONFIG)]
    command += ["--run-dir", str(run_dir), *sets, *extra]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def build_explorer(run_dir: Path, *extra: str) -> Path:
    """Stage 8 through its script; its last line names the index."""
    proc = run_script("8_visualization/visualize.py", run_dir, *extra)
    index = (run_dir / "8_visualization" / "index.html").resolve()
    assert proc.stdout.strip().splitlines()[-1] == f"explorer: {index}"
    return index


def copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("8_visualization"))
    return target


@pytest.fixture(scope="module")
def grid_run(source_run, tmp_path_factory) -> Path:
    """A copy whose stage 5 ran a grid of two betas (so the page has configs to switch)."""
    run_dir = copy_run(source_run, tmp_path_factory.mktemp("explorer") / "run")
    run_script(
        "5_gaussian_clustering/cluster.py", run_dir, "--set", f"clustering.beta={GRID_BETAS}"
    )
    build_explorer(run_dir, "--set", f"clustering.beta={GRID_BETAS}")
    return run_dir


def wait_for_plot(driver) -> None:
    """Until Plotly has drawn at least one chart."""
    WebDriverWait(driver, WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, PLOT))


def severe_messages(driver) -> list[dict]:
    """SEVERE entries of the console log since the last call."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def screenshot(driver, path: Path, max_height: int = 7000) -> Path:
    """A full-page screenshot from the top (window stretched to the page, at most
    max_height px; measured twice, as the plots relayout after a resize)."""
    for _ in range(2):
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, min(int(height), max_height))
    driver.execute_script("window.scrollTo(0, 0)")
    wait_for_plot(driver)
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1000)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 0
    if os.environ.get("MOTIF_SAVE_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMAGES / path.name)
    return path


def motif_rows(driver, table_id: str) -> list:
    return driver.find_elements(By.CSS_SELECTOR, f"#{table_id} table.motifs > tbody > tr")


def test_index_and_prefix_page_render_and_respond(browser, grid_run, tmp_path):
    out = grid_run / "8_visualization"
    prefixes = [row["prefix_id"] for row in load_prefixes(grid_run)]
    browser.get(out.joinpath("index.html").as_uri())
    wait_for_plot(browser)
    rows = browser.find_elements(By.CSS_SELECTOR, "table.index > tbody > tr")
    assert [row.find_element(By.TAG_NAME, "td").text for row in rows] == prefixes
    assert severe_messages(browser) == []
    screenshot(browser, tmp_path / "explorer_index.png")

    grids = {pid: grid_configs(grid_run, pid) for pid in prefixes}
    pid = max(prefixes, key=lambda p: max(K for _, _, K in grids[p]))
    browser.find_element(By.LINK_TEXT, pid).click()
    wait_for_plot(browser)
    assert browser.find_element(By.CSS_SELECTOR, "blockquote.prefix-text").text != ""
    grid = grids[pid]
    assert len(grid) == 2 and len(motif_rows(browser, "config-motifs")) == grid[0][2]
    select = Select(browser.find_element(By.ID, "config-select"))
    assert len(select.options) == 2
    title = "#config-plots .panel .gtitle"
    assert "β=1," in browser.find_element(By.CSS_SELECTOR, title).text
    select.select_by_index(1)
    WebDriverWait(browser, WAIT_S).until(
        lambda d: "β=2," in d.find_element(By.CSS_SELECTOR, title).text
    )
    assert len(motif_rows(browser, "config-motifs")) == grid[1][2]

    events = load_beta_paths(grid_run, pid)[0]["events"]
    label = browser.find_element(By.ID, "path-event")
    assert label.text.startswith(f"event {len(events)} of {len(events)}")
    assert len(motif_rows(browser, "path-motifs")) == events[-1]["K"]
    slider = browser.find_element(By.ID, "path-slider")
    slider.send_keys(Keys.HOME)
    assert label.text.startswith(f"event 1 of {len(events)}")
    assert len(motif_rows(browser, "path-motifs")) == events[0]["K"] == 1
    slider.send_keys(Keys.ARROW_RIGHT)
    assert label.text.startswith(f"event 2 of {len(events)}")
    assert len(motif_rows(browser, "path-motifs")) == events[1]["K"]
    assert severe_messages(browser) == []
    select.select_by_index(0)  # the screenshot: first config, an event midway on the path
    for _ in range(len(events) // 2 - 1):
        slider.send_keys(Keys.ARROW_RIGHT)
    assert label.text.startswith(f"event {len(events) // 2 + 1} of")
    screenshot(browser, tmp_path / "explorer_prefix.png")


def inject_hostile(run_dir: Path) -> dict[str, list[str]]:
    """Make the two most probable continuations of every prefix hostile, in stage 4's
    texts, stage 2's records and stage 6's examples, and the first prefix's text too;
    returns prefix -> the continuation ids changed."""
    changed = {}
    for row in load_prefixes(run_dir):
        pid = row["prefix_id"]
        features = load_features(run_dir / "4_feature_extraction", pid)
        top = torch.argsort(features.p, descending=True)[: len(HOSTILE)].tolist()
        texts = {features.continuation_ids[n]: text for n, text in zip(top, HOSTILE, strict=True)}
        changed[pid] = list(texts)
        path = run_dir / "4_feature_extraction" / f"{pid}.json"
        record = read_json(path)
        record["texts"] = [
            texts.get(cid, t)
            for cid, t in zip(record["continuation_ids"], record["texts"], strict=True)
        ]
        write_json(path, record)
        path = run_dir / "2_branch_sampling" / f"{pid}.jsonl"
        records = read_jsonl(path)
        for r in records:
            r["text"] = texts.get(r["continuation_id"], r["text"])
        write_jsonl(path, records)
        for path in (run_dir / "6_semantic_graphs" / pid).glob("beta*_gamma*.json"):
            graph = read_json(path)
            for motif in graph["motifs"]:
                for example in motif["examples"]:
                    example["text"] = texts.get(example["continuation_id"], example["text"])
            write_json(path, graph)
    path = run_dir / "1_data_preparation" / "prefixes.jsonl"
    rows = read_jsonl(path)
    rows[0]["text"] = HOSTILE_PREFIX
    write_jsonl(path, rows)
    return changed


def test_hostile_texts_show_literally_and_run_nothing(browser, source_run, tmp_path):
    run_dir = copy_run(source_run, tmp_path / "run")
    build_explorer(run_dir)
    changed = inject_hostile(run_dir)
    index = build_explorer(run_dir, "--force")
    browser.get(index.as_uri())
    wait_for_plot(browser)
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    cells = browser.find_elements(By.CSS_SELECTOR, "table.index td.prefix-cell")
    assert cells[0].text == HOSTILE_PREFIX
    assert severe_messages(browser) == []
    for pid in changed:
        browser.get((index.parent / f"prefix_{pid}.html").as_uri())
        wait_for_plot(browser)
        assert browser.execute_script("return typeof window.__pwned") == "undefined"
        assert browser.execute_script("return document.images.length") == 0
        assert browser.execute_script("return document.scripts.length") == 3
        shown = [
            e.text for e in browser.find_elements(By.CSS_SELECTOR, "#config-motifs .continuation")
        ]
        assert set(HOSTILE) <= set(shown)
        assert severe_messages(browser) == []
