"""Posts and taggings for the curator-page tests: real post texts (with HTML, мат, addresses) and
taggings whose evidence spans are located in the original text (as the pipeline reports them)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from model.paths import DATA_DIR
from model.pipeline import Pipeline
from model.profiles import Profiles

from model.records import (
    Exclusion,
    Executor,
    Importance,
    Location,
    Post,
    Route,
    Sla,
    Span,
    Tagging,
    Topic,
    TopicAlternative,
)
from model.rubricator import load_rubricator
from service.app import create_app
from service.settings import Settings
from service.web.auth import WebSettings

OMSK_DGH = "Департамент городского хозяйства Администрации города Омска"
OMSK_DTRANS = "Департамент транспорта Администрации города Омска"
DOGS = "Отлов безнадзорных собак и кошек"


def span(text: str, piece: str) -> Span:
    start = text.index(piece)
    return Span(start, start + len(piece), piece)


def sample_items(now: datetime, model_version: str = "test") -> list[tuple[Post, Tagging]]:
    def sla(region: str, hours: float, shortened: bool = False) -> Sla:
        return Sla(region, shortened, shortened, now - timedelta(hours=1), now + timedelta(hours=hours))

    t1 = "<b>Третий день</b> нет горячей воды на ул. 10 лет Октября, 15 <script>alert('x')</script> управляйка трубку не берёт"
    t2 = "Стая бродячих собак у школы №12 на Лукашевича, дети боятся ходить, собаки кидаются на людей"
    t3 = "Когда уже починят дорогу на Масленникова, бл@ть, одни ямы, колёса бью каждый день"
    t4 = "В Барнауле на Ленина 40 второй месяц не вывозят мусор с площадки, контейнеры переполнены"
    posts = [
        (Post(id="omsk-1", text=t1, region="omsk", source="vk", url="https://vk.com/wall-1_1", detected_at=now - timedelta(hours=1)),
         Tagging(id="omsk-1", region="omsk", model_version=model_version,
                 topic=Topic("Отсутствие горячей воды", "ЖКХ", 0.81,
                             [TopicAlternative("Низкая температура воды/слабое давление", "ЖКХ", 0.07)]),
                 location=Location(municipality="Омск", street="улица 10 лет Октября", house="15",
                                   mentions=[span(t1, "ул. 10 лет Октября, 15")]),
                 importance=Importance("normal", 0.2, []),
                 route=Route([Executor(OMSK_DGH, "responsible", 0.74)], needs_review=False),
                 sla=sla("omsk", 3))),
        (Post(id="omsk-2", text=t2, region="omsk", source="ok", detected_at=now - timedelta(hours=1)),
         Tagging(id="omsk-2", region="omsk", model_version=model_version,
                 topic=Topic("Уборка территорий", "Благоустройство", 0.31,
                             [TopicAlternative(DOGS, "Безопасность", 0.22)]),
                 location=Location(municipality="Омск", street="улица Лукашевича",
                                   mentions=[span(t2, "на Лукашевича")]),
                 importance=Importance("high", 0.9, ["дети"]),
                 route=Route([Executor(OMSK_DGH, "responsible", 0.5)], needs_review=True),
                 sla=sla("omsk", 0.5, shortened=True))),
        (Post(id="omsk-3", text=t3, region="omsk", source="vk", detected_at=now - timedelta(hours=10)),
         Tagging(id="omsk-3", region="omsk", model_version=model_version, actionable=False,
                 topic=Topic("Ямы и выбоины на дороге", "Дороги", 0.77),
                 exclusions=[Exclusion("profanity", 0.99, True, [span(t3, "бл@ть")])],
                 importance=Importance("normal", 0.1, []),
                 route=Route([Executor(OMSK_DTRANS, "responsible", 0.6)], needs_review=False),
                 sla=sla("omsk", -1))),
        (Post(id="altai-1", text=t4, region="altai_krai", source="vk", detected_at=now - timedelta(hours=1)),
         Tagging(id="altai-1", region="altai_krai", model_version=model_version,
                 topic=Topic("Уборка/Вывоз мусора", "Мусор/Свалки/ТКО", 0.66),
                 location=Location(municipality="Барнаул", street="улица Ленина", house="40",
                                   mentions=[span(t4, "В Барнауле"), span(t4, "на Ленина 40")]),
                 importance=Importance("normal", 0.2, []),
                 sla=sla("altai_krai", 5))),
    ]
    return posts


LOCAL = ("127.0.0.1", 50123)
REMOTE = ("10.1.2.3", 50123)


def pipeline_factory(settings, history):
    # the pages read the rubricator and the profiles from the service's pipeline; they run no model
    return Pipeline([], Profiles.load(DATA_DIR / "profiles"), load_rubricator(DATA_DIR / "rubricator" / "rubricator.yaml"),
                    "test")


def make_app(tmp_path, curators: str = "", host: str = "127.0.0.1"):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/otklik.db", history_enabled=False, host=host)
    app = create_app(settings, pipeline_factory=pipeline_factory)
    app.state.web_settings = WebSettings(curators=curators, session_secret="test-secret")
    return app


def review_store(app):
    """The app's review store, opened as the pages open it (until the lifespan opens it itself)."""
    from service.web.routes import WebContext

    store = getattr(app.state, "review", None)
    if store is None:
        store = WebContext(app, app.state.web_settings).store(app)
    return store


def fill_queue(app, items=None) -> None:
    review_store(app).enqueue_many(items if items is not None else sample_items(datetime.now(timezone.utc)))


def login_local(client) -> None:
    page = client.get("/curator/login")
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    r = client.post("/curator/login", data={"token": token, "next": "/curator/"})
    assert r.status_code == 200 and r.url.path == "/curator/"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def version_of(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)
