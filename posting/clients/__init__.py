"""Clients for external APIs, one module per vendor."""
