"""Accounts of the web face: people of an office with a role, their passwords, and who may do what."""
