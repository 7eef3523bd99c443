"""The curator pages (server-rendered): `router` is included by service.app.create_app.

The router is imported on first access, so `service.web.auth` (used by `otklik hash-password`)
does not pull in the pages, the store and the model.
"""


def __getattr__(name: str):
    if name == "router":
        from .routes import router

        return router
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["router"]
