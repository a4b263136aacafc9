"""Yearly programmes: definitions, invitations, applications and reminders (ทวงถาม)."""
