"""The one pipeline: fixed order, and no exception on any text (hypothesis)."""
import string
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.pipeline import STEP_ORDER, Pipeline, PipelineOptions
from model.records import Post

AWKWARD = st.one_of(
    st.text(min_size=1, max_size=400),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "So"]), min_size=1, max_size=200),
    st.builds(lambda w: w * 50, st.text(alphabet="абвгдеёжзхуйпизд*@#.", min_size=1, max_size=40)),
    st.builds(lambda n: "😀🔥🏚️💧" * n, st.integers(1, 300)),
    st.builds(lambda t: f"<p>{t}</p><br/>&nbsp;&amp;<div class='x'>{t}</div>", st.text(max_size=100)),
    st.builds(lambda t: f"[id{len(t)}|{t}] [club1|]", st.text(max_size=60)),
    st.text(alphabet=string.digits + " ,.-/№д", min_size=1, max_size=100),
)


def test_steps_run_in_the_documented_order(pipeline):
    assert pipeline.steps[0] == "normalize"
    assert [s for s in pipeline.steps[1:]] == [s for s in STEP_ORDER if s in pipeline.steps]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=AWKWARD, region=st.sampled_from(["omsk", "spb", "kursk", "krymsk", "vyatskiye_polyany", "altai_krai", "zelenchuk"]))
def test_no_exception_on_any_text(pipeline, text, region):
    post = Post(id="h", text=text, region=region, created_at=datetime(2026, 1, 9, 12, tzinfo=timezone.utc))
    tagging = pipeline.tag_one(post)
    assert tagging.id == "h"
    for exclusion in tagging.exclusions:
        for span in exclusion.evidence:
            assert text[span.start:span.end] == span.text
    if tagging.location is not None:
        for span in tagging.location.mentions:
            assert text[span.start:span.end] == span.text


def test_batch_equals_single(pipeline):
    posts = [Post(id=str(i), text=t, region="spb", created_at=datetime(2026, 3, 2, 9, tzinfo=timezone.utc))
             for i, t in enumerate(["Яма на дороге у дома 5 по улице Савушкина", "Не убирают мусор во дворе",
                                    "Протекает крыша, квартира 45, Невский пр. 100"])]
    batch = pipeline.tag(posts)
    single = [pipeline.tag_one(p) for p in posts]
    assert [b.as_json() for b in batch] == [s.as_json() for s in single]


def test_partial_pipeline_runs_what_is_needed():
    partial = Pipeline.load(PipelineOptions(steps=["exclusions"]))
    assert partial.steps == ["normalize", "topic", "exclusions"]
