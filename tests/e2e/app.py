"""The app the end-to-end tests serve: service.app.create_app with settings from OTKLIK_* and a
pipeline of the rubricator and profiles only (the curator pages run no model; the queue is filled
by the tests through ReviewStore.enqueue, as POST /v1/classify does)."""
from model.paths import DATA_DIR
from model.pipeline import Pipeline
from model.profiles import Profiles
from model.rubricator import load_rubricator
from service.app import create_app
from service.settings import Settings


def _pipeline(settings, history):
    return Pipeline([], Profiles.load(DATA_DIR / "profiles", default=settings.default_region),
                    load_rubricator(DATA_DIR / "rubricator" / "rubricator.yaml"), "e2e")


def create():
    return create_app(Settings(), pipeline_factory=_pipeline)
