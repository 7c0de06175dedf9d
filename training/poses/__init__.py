"""Synthetic body poses: named pose families within anatomical joint limits (`families`), checked for
self-penetration on capsule proxies (`penetration`)."""
