"""Rasa input channels of our own (registered in credentials.yml by import path)."""
