"""Monitoring of the live executor: Prometheus metrics and the operator API."""
