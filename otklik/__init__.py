"""otklik: tagging of citizens' posts for the regional incident workflow."""

__version__ = "0.1.0"
