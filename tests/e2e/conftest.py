"""End-to-end fixtures: the real app under uvicorn on 127.0.0.1 with a temporary SQLite database,
driven by headless Chromium through selenium. Needs Debian's `chromium` and `chromium-driver`
(apt-get install -y chromium chromium-driver); without /usr/bin/chromium these tests are skipped."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SKIP_REASON = "headless Chromium is not installed (/usr/bin/chromium): apt-get install -y chromium chromium-driver"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, database_url: str, process: subprocess.Popen, log_path: Path):
        self.url, self.database_url, self.process, self.log_path = url, database_url, process, log_path


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    """uvicorn running service.app.create_app (through tests/e2e/app.py) on a free loopback port."""
    tmp = tmp_path_factory.mktemp("e2e")
    port = free_port()
    database_url = f"sqlite:///{tmp}/otklik.db"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "OMP_NUM_THREADS": "1",
        "OTKLIK_DATABASE_URL": database_url,
        "OTKLIK_HISTORY_ENABLED": "false",
        "OTKLIK_SESSION_SECRET": "e2e-secret",
        "OTKLIK_CURATORS": getattr(request.module, "CURATORS", ""),
        "OTKLIK_LOG_JSON": "false",
    }
    log_path = tmp / "server.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.e2e.app:create", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the service did not start: {log_path.read_text()[-3000:]}")
        time.sleep(0.3)
    yield Server(url, database_url, process, log_path)
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMEDRIVER.exists():
        pytest.fail(f"chromium is installed but {CHROMEDRIVER} is not: apt-get install -y chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1366,860", "--lang=ru-RU"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
