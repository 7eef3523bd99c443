"""Schemathesis against the service's own OpenAPI: no 5xx and no schema violations.

The service runs with a token configured, as in production, so the auth checks are exercised too.
The app (and its lifespan, which loads the real pipeline) starts when this module is collected:
schemathesis needs the schema to generate one test per operation.
"""
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from service.app import create_app
from service.settings import Settings

_db = Path(tempfile.mkdtemp(prefix="otklik-fuzz-")) / "otklik.db"
TOKEN = "fuzz-admin-token"
app = create_app(Settings(database_url=f"sqlite:///{_db}", max_batch_posts=50, api_tokens=f"{TOKEN}:admin"))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.auth()
class BearerToken:
    """Schemathesis applies the token itself, so its own negative cases (a missing header) stay missing."""

    def get(self, case, context):
        return TOKEN

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi(case):
    case.call_and_validate()
