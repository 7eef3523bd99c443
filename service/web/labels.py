"""Russian words of the curator pages: reasons, statuses, importance, time left."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

REASONS = {
    "profanity": "Нецензурная брань",
    "insult": "Оскорбления",
    "threat_official": "Угроза должностному лицу",
    "threat_authority": "Угроза органам власти",
    "call_to_violence": "Призыв к насилию",
    "harm_intent": "Намерение причинить вред",
    "advertising": "Реклама, спам",
    "off_topic": "Вне компетенции органов власти",
    "repeat_no_new_arguments": "Повтор без новых доводов",
}
STATUSES = {
    "new": "новый",
    "returned": "возвращён исполнителем",
    "accepted": "принят",
    "corrected": "исправлен",
}
STATUS_FILTERS = {
    "open": "ждут решения",
    "new": "новые",
    "returned": "возвращённые",
    "decided": "решённые",
    "accepted": "принятые",
    "corrected": "исправленные",
    "all": "все",
}
IMPORTANCE = {"normal": "обычная", "high": "высокая"}
TIME_LEFT = {"overdue": "просрочены", "1h": "меньше часа", "4h": "меньше 4 часов", "24h": "меньше суток"}
ACTIONS = {
    "accept": "принял",
    "correct": "исправил",
    "return": "вернул как не компетентный",
    "answer": "отметил ответ",
    "login": "вошёл",
}
SOURCES = {
    "vk": "ВКонтакте", "ok": "Одноклассники", "telegram": "Telegram", "instagram": "Instagram",
    "facebook": "Facebook", "twitter": "Twitter", "forum": "форум", "review_site": "сайт отзывов",
    "other": "другое",
}


def duration(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} д")
    if hours or days:
        parts.append(f"{hours} ч")
    parts.append(f"{mins:02d} мин" if (hours or days) else f"{mins} мин")
    return " ".join(parts)


def time_left(deadline: datetime | None, now: datetime) -> tuple[str, str]:
    """(text, css class) of the time left to a deadline."""
    if deadline is None:
        return "срок не рассчитан", "tl-none"
    delta = deadline - now
    if delta.total_seconds() < 0:
        return f"просрочен на {duration(delta)}", "tl-overdue"
    css = "tl-soon" if delta <= timedelta(hours=1) else "tl-ok"
    return f"осталось {duration(delta)}", css


def local_time(value: datetime | str | None, tz: str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is not None and tz:
        try:
            value = value.astimezone(ZoneInfo(tz))
        except (KeyError, ValueError):
            pass
    return value.strftime("%d.%m.%Y %H:%M")
