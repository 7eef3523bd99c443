"""Records → JSON: the one-walk conversion gives exactly what dataclasses.asdict would."""
from dataclasses import asdict
from datetime import datetime, timedelta, timezone

from model.records import Post, _plain


def _reference(value):
    # the conversion as it was: asdict, then datetimes → ISO strings, tuples → lists
    def plain(v):
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return plain(asdict(value))


def test_tagging_json_equals_the_asdict_conversion(pipeline):
    created = datetime(2026, 2, 6, 16, 10, tzinfo=timezone(timedelta(hours=6)))
    posts = [
        Post(id="1", text="Третий день нет горячей воды на ул. Ленина 5, управляйка трубку не берёт",
             region="omsk", created_at=created, author_id="a1"),
        Post(id="2", text="Когда уже починят эту х*йню, трубу прорвало на Мира 10, вода хлещет, дети дома",
             region="vyatskiye_polyany", created_at=created),
    ]
    for tagging in pipeline.tag(posts):
        assert tagging.as_json() == _reference(tagging)
    for post in posts:
        assert post.as_json() == _reference(post)


def test_the_copy_shares_no_mutable_part_with_the_record(pipeline):
    tagging = pipeline.tag([Post(id="3", text="Яма на дороге у школы №5", region="omsk")])[0]
    out = tagging.as_json()
    out["route"]["executors"].clear()
    assert tagging.route.executors  # the record is untouched
    assert _plain((1, "a")) == [1, "a"]
