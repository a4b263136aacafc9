"""The chain of circulars: issue, receive, forward, cancel; who gets what; tracking links; status."""
