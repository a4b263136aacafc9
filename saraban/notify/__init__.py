"""Notifying offices: e-mail over SMTP, every send recorded."""
