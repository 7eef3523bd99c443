"""`otklik serve`'s app (service.served) runs the whole pipeline in a process without pandas."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
import service.served
from fastapi.testclient import TestClient
assert sys.modules["pandas"] is None
with TestClient(service.served.create_served_app()) as client:
    r = client.post("/v1/classify", json={"id": "1", "region": "omsk",
                    "text": "Третий день нет горячей воды на ул. Ленина 5, управляйка трубку не берёт"})
print(json.dumps({"status": r.status_code, "group": r.json()["topic"]["group"],
                  "pandas": "pandas" in sys.modules and sys.modules["pandas"] is not None}))
"""


def test_the_served_app_tags_without_pandas(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OTKLIK_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"}
    env.pop("OTKLIK_API_TOKENS", None)
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"status": 200, "group": "ЖКХ", "pandas": False}
