"""The one pipeline used by REST, batch and the curator pages.

Steps run in a fixed, visible order (`Pipeline.steps`):

    normalize → topic → location → exclusions → incidents → importance → repeats → route → sla

`incidents` and `repeats` need the history store; without one (PipelineOptions.history=None) they
are left out. `incidents` runs before `importance` because many posts on one issue raise it.

Normalization happens when a `Doc` is made; every other step is a component with
`predict(docs)` / `set_annotations(docs, preds)` / `__call__(docs)`. Batch calls pass many docs
at once, so components vectorize across posts.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from .artifact import Artifact, load_artifact
from .doc import Doc
from .errors import UnknownRegionError
from .gazetteer import preload_case_forms
from .paths import DATA_DIR, DEFAULT_ARTIFACT
from .profiles import Profiles
from .records import Post, Tagging
from .rubricator import Rubricator, load_rubricator
from .text import preload_lemmas

log = logging.getLogger(__name__)

STEP_ORDER = ("topic", "location", "exclusions", "incidents", "importance", "repeats", "route", "sla")

# A callback told how long each step took: (step name, seconds, number of docs).
StepTimer = Callable[[str, float, int], None]


class Component(Protocol):
    name: str

    def __call__(self, docs: list[Doc]) -> None: ...


@dataclass
class PipelineOptions:
    artifact_path: Path = DEFAULT_ARTIFACT
    data_dir: Path = DATA_DIR
    default_region: str = "omsk"
    # which steps to run; None = all. Steps that later steps need still run (see `_closure`).
    steps: Sequence[str] | None = None
    history: Any | None = None  # a model.history.HistoryStore; None = no repeat detection
    clock: Callable[[], datetime] | None = None  # for tests: "now" when a post has no times


# what each step reads from earlier steps
_NEEDS = {
    "topic": (),
    "location": (),
    "exclusions": ("topic",),
    "incidents": ("topic", "location"),
    "importance": ("topic", "location"),
    "repeats": ("topic", "location", "exclusions"),
    "route": ("topic", "location"),
    "sla": ("importance",),
}


def _closure(steps: Iterable[str]) -> list[str]:
    wanted: set[str] = set()
    stack = list(steps)
    while stack:
        step = stack.pop()
        if step not in _NEEDS:
            raise ValueError(f"expected steps from {', '.join(STEP_ORDER)}, got {step!r}")
        if step not in wanted:
            wanted.add(step)
            stack.extend(_NEEDS[step])
    return [s for s in STEP_ORDER if s in wanted]


class Pipeline:
    def __init__(
        self,
        components: list[Component],
        profiles: Profiles,
        rubricator: Rubricator,
        model_version: str,
        timer: StepTimer | None = None,
    ):
        names = [c.name for c in components]
        order = [s for s in STEP_ORDER if s in names]
        if names != order:
            raise ValueError(f"expected components in the order {order}, got {names}")
        self.components = components
        self.profiles = profiles
        self.rubricator = rubricator
        self.model_version = model_version
        self.timer = timer

    @property
    def steps(self) -> list[str]:
        return ["normalize", *(c.name for c in self.components)]

    @classmethod
    def load(cls, options: PipelineOptions | None = None, artifact: Artifact | None = None) -> "Pipeline":
        options = options or PipelineOptions()
        artifact = artifact or load_artifact(options.artifact_path)
        lemma_table = artifact.get("lemmas")
        if lemma_table:
            log.info("lemma table: %d known words", preload_lemmas(lemma_table))
        forms = artifact.get("case_forms")
        if forms:
            log.info("case forms: %d known names", preload_case_forms(forms))
        data_dir = Path(options.data_dir)
        profiles = Profiles.load(data_dir / "profiles", default=options.default_region)
        rubricator = load_rubricator(data_dir / "rubricator" / "rubricator.yaml")
        steps = _closure(options.steps or STEP_ORDER)
        shared: dict[str, Any] = {}
        components = [
            _build(step, artifact, data_dir, profiles, rubricator, options, shared)
            for step in steps
        ]
        components = [c for c in components if c is not None]
        return cls(components, profiles, rubricator, artifact.version)

    # ------------------------------------------------------------------ running

    def region_of(self, post: Post) -> str:
        """The post's regulation profile (the default when it names none); UnknownRegionError if unknown."""
        region = post.region or self.profiles.default
        if region not in self.profiles:
            raise UnknownRegionError(region, self.profiles.ids())
        return region

    def make_doc(self, post: Post) -> Doc:
        return Doc.from_post(post, self.region_of(post))

    def defer_writes(self, on: bool = True) -> None:
        """With `on`, components that record history (repeats) keep their writes until `flush()`:
        a caller that answers first and records right after, before its next run, pays the writes
        outside the answer's latency. The next `run` must come after `flush()`, or it would not see
        the previous posts."""
        for component in self.components:
            if hasattr(component, "defer_writes"):
                component.defer_writes = on

    def flush(self) -> None:
        """Make the deferred writes."""
        self._call_each("flush")

    def drop_pending(self) -> None:
        """Forget the deferred writes of a run that failed."""
        self._call_each("drop_pending")

    def _call_each(self, method: str) -> None:
        for component in self.components:
            call = getattr(component, method, None)
            if call is not None:
                call()

    def run(self, docs: list[Doc]) -> list[Doc]:
        for component in self.components:
            started = time.perf_counter()
            component(docs)
            if self.timer is not None:
                self.timer(component.name, time.perf_counter() - started, len(docs))
        return docs

    def tag(self, posts: Sequence[Post]) -> list[Tagging]:
        """Tag a batch of valid posts. Raises UnknownRegionError for an unknown region."""
        started = time.perf_counter()
        docs = [self.make_doc(p) for p in posts]
        if self.timer is not None:
            self.timer("normalize", time.perf_counter() - started, len(docs))
        self.run(docs)
        return [d.to_tagging(self.model_version) for d in docs]

    def tag_one(self, post: Post) -> Tagging:
        return self.tag([post])[0]


def _build(
    step: str,
    artifact: Artifact,
    data_dir: Path,
    profiles: Profiles,
    rubricator: Rubricator,
    options: PipelineOptions,
    shared: dict[str, Any],
) -> Component | None:
    """Construct one component from the artifact and the data files (imports kept local so a
    partial pipeline, e.g. `--fields exclusions`, loads only what it runs)."""
    if step == "topic":
        from .topic import TopicTagger, artifact_priors

        priors = artifact_priors(artifact, rubricator, data_dir / "mappings")
        return TopicTagger(artifact.get("topic"), rubricator, priors=priors)
    if step == "location":
        from .location import LocationTagger

        return LocationTagger.from_data(data_dir, geo_index=artifact.get("geo"))
    if step == "exclusions":
        from .exclusions import ExclusionTagger
        from .toxicity import AbuseDetector

        # "threat" (the learned threat model) is absent from older artifacts: rules only then
        abuse = AbuseDetector.from_data(data_dir, artifact.get("toxicity"), threat_model=artifact.get("threat"))
        return ExclusionTagger.from_data(data_dir, profiles, abuse_detector=abuse)
    if step == "importance":
        from .importance import ImportanceTagger

        return ImportanceTagger.from_data(data_dir, model=artifact.get("importance"))
    if step in ("incidents", "repeats"):
        if options.history is None:
            return None
        from .fingerprint import Fingerprinter

        # one fingerprinter for both: the MinHash of a doc is computed once and cached on the doc
        fingerprinter = shared.setdefault("fingerprinter", Fingerprinter())
        if step == "incidents":
            from .incidents import IncidentTagger

            return IncidentTagger(options.history, fingerprinter=fingerprinter, clock=options.clock)
        from .repeats import RepeatTagger

        return RepeatTagger(options.history, profiles, fingerprinter=fingerprinter, clock=options.clock)
    if step == "route":
        from .route import RouteTagger

        return RouteTagger(artifact.get("route"), profiles)
    if step == "sla":
        from .sla import SlaTagger

        return SlaTagger(profiles, clock=options.clock)
    raise ValueError(f"expected a step from {STEP_ORDER}, got {step!r}")
