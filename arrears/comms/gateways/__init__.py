"""Gateways: how a rendered message leaves the system (one adapter interface, see `base`)."""
