"""A local stand-in for fal.ai's queue API: see server.py."""
