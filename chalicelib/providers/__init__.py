"""What each generation provider besides Replicate knows about our catalog's models."""
