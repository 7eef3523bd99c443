"""One small error hierarchy for the whole project."""


class OtklikError(Exception):
    """Base of every error raised on purpose by otklik."""


class InputError(OtklikError, ValueError):
    """A post (or other input) breaks the contract. `field` names the offending field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownRegionError(InputError):
    def __init__(self, region: str, known: list[str]):
        super().__init__("region", f"expected one of {', '.join(sorted(known))}, got {region!r}")
        self.region = region
        self.known = sorted(known)


class ArtifactError(OtklikError):
    """A model artifact is missing, damaged or incompatible with this code."""


class DataError(OtklikError):
    """A data file of the project (rubricator, profile, gazetteer, lexicon) is malformed."""
