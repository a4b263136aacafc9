"""The kernel: settings, the clock (aware, Asia/Bangkok) and problems as Thai/English messages.
Imports nothing of saraban."""
