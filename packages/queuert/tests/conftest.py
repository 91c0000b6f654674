"""Shared fixtures for the core queuert tests."""
