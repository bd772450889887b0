"""MotifDiscovery: the pipeline's stages 2-7c on one prefix, in memory, from Python.

    md = MotifDiscovery()                       # the toy world (configs/toy_world.json)
    continuations = md.sample(prefix, n=150)    # stage 2: branch_prefix
    motifs = md.cluster(continuations, beta=3.0, gamma=0.5)
        # stage 3 attribute_prefix, stage 4 prefix_features, stage 5 cluster_features,
        # stage 6 config_graph
    steering = md.validate_steering(motifs)     # stage 7c config_rows

Every computation is a call into the function the stage itself calls, with the same
config; only file reading and writing are left out. Models are loaded on first use and
kept: the language model (sampling, P_n, steering), the replacement model (attribution),
the sentence embedder, the transcoders (steering); md.release(...) drops them.
"""

from __future__ import annotations

import gc
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from motif_discovery.api.results import (
    Continuations,
    Feature,
    HierarchyEvent,
    Motif,
    MotifHierarchy,
    MotifSteering,
    SteeringRow,
)
from motif_discovery.attribution.compute import AttributionSettings, attribute_prefix
from motif_discovery.attribution.model import load_attribution_model
from motif_discovery.attribution.outputs import PrefixAttributions, Sources
from motif_discovery.attribution.stage import STAGE as ATTRIBUTION_STAGE
from motif_discovery.clustering.beta_path import follow_beta_path
from motif_discovery.clustering.outputs import ConfigResult
from motif_discovery.clustering.stage import cluster_features, sweep_settings
from motif_discovery.data.clozes import safe_id, text_id
from motif_discovery.data.prefixes import PREFIX_ID
from motif_discovery.embedding.features import FeatureSet
from motif_discovery.embedding.labels import make_labeler
from motif_discovery.embedding.semantic import load_embedder
from motif_discovery.embedding.stage import STAGE as EMBEDDING_STAGE
from motif_discovery.embedding.stage import prefix_features
from motif_discovery.graphs.activation_examples import ActivationIndex, PrefixSources
from motif_discovery.graphs.semantic_graph import top_members
from motif_discovery.graphs.stage import config_graph
from motif_discovery.model.context import checked_context, max_context
from motif_discovery.model.loading import load_model_config, load_tokenizer, model_dtype
from motif_discovery.model.paths import local_path
from motif_discovery.model.transcoders import load_transcoders
from motif_discovery.sampling.backend import backend_name
from motif_discovery.sampling.stage import Models, branch_prefix
from motif_discovery.utils.config import (
    CONFIG_DIR,
    Config,
    apply_overrides,
    build_section,
    load_config,
    to_dict,
)
from motif_discovery.utils.device import resolve_device, resolve_dtype
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.manifest import config_subset, fingerprint
from motif_discovery.validation.inputs import teacher_forcing
from motif_discovery.validation.steering import Steerer
from motif_discovery.validation.steering_stage import PrefixData, hypothesis_groups, motif_rows

TOY_WORLD_CONFIG = CONFIG_DIR / "toy_world.json"
MOTIF_METHODS = ("RD", "Single", "random")  # 7c's methods whose hypotheses are RD motifs
RELEASABLE = ("sampler", "replacement_model", "embedder", "steerer")


def resolve_config(
    config: str | Path | Config | None, overrides: list[str], values: dict[str, Any]
) -> Config:
    """`config` (a file: absolute, else in the current directory, else in the repository;
    a Config; or None: configs/toy_world.json) with the `--set`-style
    `overrides`, then the dotted keys of `values` whose value is not None; validated."""
    if isinstance(config, Config):
        tree = to_dict(config)
    else:
        path = TOY_WORLD_CONFIG if config is None else local_path(str(config)) or Path(config)
        tree = to_dict(load_config(path))
    tree = apply_overrides(tree, overrides)
    for key, value in values.items():
        if value is not None:
            section, name = key.split(".")
            tree[section][name] = value
    return build_section(Config, tree, "")


@dataclass
class Fit:
    """What one cluster call computed, kept by its motifs for validate_steering."""

    continuations: Continuations
    attributions: PrefixAttributions
    features: FeatureSet
    result: ConfigResult


class MotifDiscovery:
    """Sample, cluster and steer one prefix at a time with a config's settings.

    model, embedding_model, transcoder: a Hugging Face id or a local path (relative: the
    current directory, else the repository root), overriding model.name,
    embedding.model and model.transcoders; config: a config file or Config (None: the toy
    world's, configs/toy_world.json), whose sections give every other setting; device:
    run.device (auto, cpu, cuda); seed: run.seed; overrides: `section.key=value` strings as
    the command line's --set."""

    def __init__(
        self,
        model: str | None = None,
        embedding_model: str | None = None,
        transcoder: str | None = None,
        config: str | Path | Config | None = None,
        device: str | None = None,
        seed: int | None = None,
        overrides: list[str] | None = None,
    ) -> None:
        values = {
            "model.name": model,
            "embedding.model": embedding_model,
            "model.transcoders": transcoder,
            "run.device": device,
            "run.seed": seed,
        }
        self.config = resolve_config(config, list(overrides or []), values)

    def with_settings(self, **values: Any) -> Config:
        """The config with dotted keys replaced (`**{"sampling.n": 100}`), validated."""
        return resolve_config(self.config, [], values)

    # Models, each loaded on first use and kept.

    @cached_property
    def device(self) -> torch.device:
        """run.device resolved (checked when the first model loads: cuda needs a GPU)."""
        return resolve_device(self.config.run.device)

    @cached_property
    def tokenizer(self):
        """The language model's tokenizer."""
        return load_tokenizer(self.config.model)

    @cached_property
    def context_limit(self) -> int:
        """The longest token sequence allowed (model.max_context or the model's)."""
        return max_context(load_model_config(self.config.model), self.config.model)

    @cached_property
    def sampling_models(self) -> Models:
        """Stage 2's language model, sampler and stop rule (loaded at the first sample)."""
        backend = backend_name(self.config.sampling.backend)
        return Models(self.config, self.tokenizer, self.context_limit, backend)

    @cached_property
    def language_model(self):
        """The language model (shared by sampling, P_n and steering)."""
        return self.sampling_models.get()[0]

    @cached_property
    def replacement_model(self):
        """Stage 3's replacement model (circuit-tracer, with the transcoders)."""
        dtype = model_dtype(self.config.model.dtype, self.device)
        return load_attribution_model(self.config.model, self.device, dtype)

    @cached_property
    def embedder(self):
        """Stage 4's sentence embedder."""
        return load_embedder(self.config.embedding.model, self.device)

    @cached_property
    def steerer(self) -> Steerer:
        """Stage 7c's steered forwards: the language model with the transcoders' decoders."""
        dtype = model_dtype(self.config.model.dtype, self.device)
        transcoders = load_transcoders(self.config.model, self.device, dtype)
        return Steerer(self.language_model, transcoders, self.config.validation.batch_size)

    def release(self, *names: str) -> None:
        """Drop the kept models named, so that their memory is freed (the CUDA cache is
        emptied): "sampler" (stage 2's sampler and models, e.g. vLLM's engine; the language
        model stays for steering), "replacement_model", "embedder", "steerer" (with its
        transcoders). A later call that needs one loads it again."""
        unknown = sorted(set(names) - set(RELEASABLE))
        if unknown:
            raise InputError(f"release: {unknown} are not models kept; one or more of {RELEASABLE}")
        for name in names:
            if name == "sampler":
                models = self.__dict__.pop("sampling_models", None)
                if models is not None and models.loaded is not None:
                    self.__dict__.setdefault("language_model", models.loaded[0])
            else:
                self.__dict__.pop(name, None)
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def settings_key(self, *stages: str) -> str:
        """sha256 of the config values that stage 3 ("attribution") and/or stage 4
        ("embedding") read (their STAGE.config_keys): what a cached view depends on."""
        keys = {"attribution": ATTRIBUTION_STAGE, "embedding": EMBEDDING_STAGE}
        read = [key for stage in stages for key in keys[stage].config_keys]
        return fingerprint(config_subset(to_dict(self.config), read), "", {})

    # Stages.

    def sample(
        self,
        prefix: str,
        n: int | None = None,
        *,
        prefix_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Continuations:
        """Stage 2 on one prefix: first-token discovery, sampling until no new text (stop
        rule), teacher-forced P_n, dedupe, the n with the largest P_n (n: sampling.n).
        Seeded by run.seed and the prefix id (default: stage 1's id of a text without one,
        `cloze-` + 12 hex digits of its sha256). extra: the prefix's other keys, as a cloze
        row's (e.g. 'answers' for data.labeler 'answers')."""
        config = self.with_settings(**{"sampling.n": n})
        prefix_id = safe_id(text_id(prefix)) if prefix_id is None else prefix_id
        if not PREFIX_ID.match(prefix_id):
            raise InputError(f"prefix_id: {prefix_id!r} is not a file-name-safe id")
        context = checked_context(
            self.tokenizer,
            prefix_id,
            prefix,
            config.model,
            config.data.prompt_format,
            config.sampling.max_new_tokens,
            self.context_limit,
        )
        records, summary = branch_prefix(self.sampling_models, context, config, prefix_id)
        return Continuations(prefix, prefix_id, context, records, summary, dict(extra or {}))

    def attribute(self, continuations: Continuations) -> PrefixAttributions:
        """Stage 3: each continuation's pooled attribution row a_n over the prefix's
        sources (computed once per Continuations and stage-3 settings)."""
        view = ("attributions", self.settings_key("attribution"))
        if view not in continuations.views:
            settings = AttributionSettings.from_config(self.config)
            bar = tqdm(total=0, desc=f"attribution {continuations.prefix_id}", file=sys.stderr)
            with bar:
                result = attribute_prefix(
                    self.replacement_model,
                    continuations.context,
                    continuations.token_ids,
                    settings,
                    bar.update,
                    continuations.surprisal,
                )
            continuations.views[view] = PrefixAttributions(
                prefix_id=continuations.prefix_id,
                a_raw=result.a.float().cpu(),
                activations=result.sources.activations().float().cpu(),
                sources=Sources(**result.sources.describe()),
                continuation_ids=continuations.ids,
                prefix_token_ids=list(continuations.context),
                record={"span_starts": result.span_starts},
            )
        return continuations.views[view]

    def features(self, continuations: Continuations) -> FeatureSet:
        """Stage 4: the semantic view e, the centred, scaled attribution view a, P_n and
        the labels (data.labeler) (computed once per Continuations and stage-3 and -4
        settings)."""
        view = ("features", self.settings_key("attribution", "embedding"))
        if view not in continuations.views:
            attributions = self.attribute(continuations)
            row = {"prefix_id": continuations.prefix_id, "text": continuations.prefix}
            labeler, _ = make_labeler(self.config, [row | continuations.extra], Path("<api>"))
            continuations.views[view] = prefix_features(
                self.embedder,
                self.config.embedding,
                labeler,
                continuations.prefix_id,
                continuations.prefix,
                continuations.ids,
                continuations.texts,
                torch.tensor(continuations.p_n, dtype=torch.float32),
                attributions.a_raw,
            )
        return continuations.views[view]

    def cluster(
        self,
        continuations: Continuations,
        beta: float | str | None = None,
        gamma: float | None = None,
    ) -> list[Motif] | MotifHierarchy:
        """Stage 5's RD fit at one (beta, gamma) (clustering.beta/gamma when None), with
        each motif's stage-6 semantic graph: the motifs by decreasing prior. beta = "path":
        the motif hierarchy of gamma (stage 5's beta path) instead."""
        config = self.with_settings(**{"clustering.beta": beta, "clustering.gamma": gamma})
        clustering = config.clustering
        if isinstance(clustering.beta, list) or isinstance(clustering.gamma, list):
            raise InputError(
                "cluster: beta and gamma must be single values (a number, or beta = 'path'), "
                f"got beta {clustering.beta!r}, gamma {clustering.gamma!r}"
            )
        features = self.features(continuations)
        settings = sweep_settings(config)
        dtype = resolve_dtype(config.run.dtype)
        if clustering.beta == "path":
            return self._hierarchy(features, config, dtype)
        outcome = cluster_features(features, clustering, settings, self.device, dtype)
        rd = outcome[(clustering.beta, clustering.gamma)]
        result = ConfigResult(
            prefix_id=features.prefix_id,
            beta=clustering.beta,
            gamma=clustering.gamma,
            K=rd.result.K,
            assign=rd.result.assign.cpu().long(),
            prior=rd.result.prior.cpu(),
            mu_e=rd.result.mu_e.cpu(),
            mu_a=rd.result.mu_a.cpu(),
            mu_a_raw=features.raw_attribution(rd.result.mu_a.float().cpu()),
            record={
                **rd.result.to_json(),
                "scores": rd.scores,
                "baseline_assign": rd.baseline_assign,
                "continuation_ids": features.continuation_ids,
            },
        )
        fit = Fit(continuations, self.attribute(continuations), features, result)
        return self._motifs(fit, config)

    def _hierarchy(self, features: FeatureSet, config: Config, dtype) -> MotifHierarchy:
        """Stage 5's beta path (follow_beta_path) of clustering.gamma."""
        clustering = config.clustering
        e, a, p = (
            x.to(device=self.device, dtype=dtype) for x in (features.e, features.a, features.p)
        )
        path = follow_beta_path(
            e,
            a,
            p,
            float(clustering.gamma),
            sweep_settings(config),
            clustering.K_clamp,
            clustering.beta_max,
        )
        events = [
            HierarchyEvent(
                beta=event.beta,
                K=event.result.K,
                type=event.kind,
                children=event.children,
                merges=event.merges,
                assign=[int(x) for x in event.result.assign],
                prior=[float(x) for x in event.result.prior],
            )
            for event in path.events
        ]
        return MotifHierarchy(features.prefix_id, path.gamma, path.stopped, path.beta_end, events)

    def _motifs(self, fit: Fit, config: Config) -> list[Motif]:
        """The motifs of one fit with their stage-6 semantic graphs, by decreasing prior."""
        attributions, features, result = fit.attributions, fit.features, fit.result
        tokens = [self.tokenizer.decode([t]) for t in attributions.prefix_token_ids]
        prefix = PrefixSources(
            features.prefix_id, attributions.sources, attributions.activations, tokens
        )
        index = ActivationIndex([prefix], config.graphs.activation_examples)
        record, _ = config_graph(
            result, features, prefix, index, config.graphs, fit.continuations.prefix
        )
        motifs = []
        for graph in record["motifs"]:
            c = graph["motif"]
            members = result.members(c)
            rows = top_members(features.p, members, len(members))
            motifs.append(
                Motif(
                    id=c,
                    prior=graph["prior"],
                    members=rows,
                    examples=[features.texts[i] for i in rows],
                    member_ids=[features.continuation_ids[i] for i in rows],
                    top_features=[
                        Feature(
                            f["layer"],
                            f["position"],
                            f["token"],
                            f["feature"],
                            f["H_c"],
                            f["H_c_raw"],
                            f["activation"],
                        )
                        for f in graph["top_features"]
                    ],
                    kind_mass=graph["kind_mass"],
                    mu_e=result.mu_e[c],
                    mu_a=result.mu_a[c],
                    mu_a_raw=result.mu_a_raw[c],
                    graph=graph,
                    fit=fit,
                )
            )
        return sorted(motifs, key=lambda m: (-m.prior, m.id))

    def validate_steering(
        self, motifs: list[Motif], methods: list[str] | None = None
    ) -> list[MotifSteering]:
        """Stage 7c on motifs of one cluster call (only those given are steered): per
        motif, the members drawn (validation.max_members, validation.seed) are
        teacher-forced unsteered and with each method's features steered at every eps
        (validation.epsilons, selections, B); changes and Pearson/Spearman of eps vs change. methods: among RD, Single, random
        (default: those of validation.methods; KM-Sem steers k-means clusters, not motifs)."""
        fits = {id(m.fit) for m in motifs}
        if len(fits) != 1 or motifs[0].fit is None:
            raise InputError("validate_steering: pass motifs of one cluster call")
        fit = motifs[0].fit
        chosen = [m for m in self.config.validation.methods if m in MOTIF_METHODS]
        chosen = chosen if methods is None else list(methods)
        unknown = sorted(set(chosen) - set(MOTIF_METHODS))
        if unknown or not chosen:
            raise InputError(
                f"validate_steering: methods {chosen!r}: one or more of {MOTIF_METHODS}"
            )
        config = self.with_settings(**{"validation.methods": chosen})
        sequences, targets = teacher_forcing(
            fit.attributions.prefix_token_ids,
            fit.continuations.token_ids,
            int(config.compat.reference_position_shift),
        )
        data = PrefixData(fit.attributions, fit.features, sequences, targets, [fit.result])
        wanted = {motif.id for motif in motifs}
        groups = [g for g in hypothesis_groups(data, fit.result, config) if g[0].motif in wanted]
        rows = []
        with torch.no_grad():
            for group in tqdm(
                groups, desc=f"7c {fit.result.prefix_id}", file=sys.stderr, leave=False
            ):
                rows += motif_rows(self.steerer, data, fit.result, group, config.validation)
        out = []
        for motif in motifs:
            mine = [
                SteeringRow(
                    method=r["method"],
                    selection=r["selection"],
                    B=r["B"],
                    epsilons=list(r["epsilons"]),
                    changes=r["changes"],
                    pearson=r["pearson"],
                    spearman=r["spearman"],
                    usable=r["usable"],
                    reason=r["reason"],
                    features=r["features"],
                    members=r["members"],
                )
                for r in rows
                if r["motif"] == motif.id
            ]
            out.append(MotifSteering(motif.id, mine))
        return out
